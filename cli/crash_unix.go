//go:build unix

package cli

import (
	"os"
	"os/signal"
	"syscall"

	"statelab/servers"
)

// armOnSignal arms srv's crash on each SIGUSR1 (see servers.Server.ArmCrash),
// until the returned stop is called.
func armOnSignal(srv *servers.Server) (stop func()) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			srv.ArmCrash()
		}
	}()
	return func() { signal.Stop(usr1); close(usr1) }
}

// dieNow ends this process as SIGKILL does: nothing more is written,
// nothing is cleaned up. As PID 1 of a container (no init) the kernel
// ignores a SIGKILL the process sends itself, hence the exit with SIGKILL's
// status right after.
func dieNow() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	os.Exit(137)
}
