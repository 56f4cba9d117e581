// Package labtest lets a test binary stand in for the lab binary: the local
// runtime starts its instances and balancer from its own executable, which
// in a test is the test binary. Main turns such a child into `lab`.
package labtest

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"statelab/cli"
)

// envVar marks a child that must act as the lab binary. It is not a
// STATELAB_ variable, because the lab strips those from its children.
const envVar = "LABTEST_AS_LAB"

// Main runs the tests, or, in a child started by the lab, the lab command.
func Main(m *testing.M) {
	if os.Getenv(envVar) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], cli.OSEnv())
		stop()
		os.Exit(code)
	}
	os.Setenv(envVar, "1") // inherited by the children the tests start
	os.Exit(m.Run())
}

// Command returns the argv and environment that run the lab command from
// this test binary.
func Command(args ...string) (exe string, argv []string, env []string) {
	exe, _ = os.Executable()
	return exe, args, append(os.Environ(), envVar+"=1")
}
