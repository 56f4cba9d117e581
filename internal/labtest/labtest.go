// Package labtest lets a test binary stand in for the lab binary: the local
// runtime starts its instances and balancer from its own executable, which
// in a test is the test binary. Main turns such a child into `lab`.
package labtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
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
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// Binary builds the lab binary once per test process, without the race
// detector, and returns its path. Tests that start a whole lab use it: the
// race detector checks the test's own process, and each package's tests
// check its code; a lab of eleven race-instrumented processes on two cores
// would test patience instead.
func Binary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "statelab-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "lab")
		cmd := exec.Command("go", "build", "-o", binPath, "statelab/cmd/lab")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// Command returns the argv and environment that run the lab command from
// this test binary.
func Command(args ...string) (exe string, argv []string, env []string) {
	exe, _ = os.Executable()
	return exe, args, append(os.Environ(), envVar+"=1")
}
