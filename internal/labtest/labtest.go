// Package labtest helps the lab's tests. A test binary can stand in for the
// lab binary (Main, Binary, Command): the local runtime starts its instances
// and balancer from its own executable, which in a test is the test binary,
// and Main turns such a child into `lab`. Scenarios runs scenarios of the
// catalogue on any runtime and checks their expectations; Children lists a
// process's children.
package labtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"statelab/cli"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
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

// Scenarios runs the named scenarios of the catalogue on rt and returns the
// journal, decoded from its JSON as a user of --json would read it. Every
// expectation must hold, or the test fails. A scenario the machine was too
// busy to judge (inconclusive: the lab says so, and that is not a failure)
// is run again, twice at most; one still inconclusive then fails the test,
// which could not check it.
func Scenarios(t *testing.T, rt lab.Runtime, users int, names ...string) *scenarios.Journal {
	t.Helper()
	return ScenariosSeen(t, rt, users, nil, names...)
}

// ScenariosSeen is Scenarios with observers of the first run (a scenario
// run again is not shown to them).
func ScenariosSeen(t *testing.T, rt lab.Runtime, users int, obs []scenarios.Observer, names ...string) *scenarios.Journal {
	t.Helper()
	back := run(t, rt, users, obs, names...)
	for attempt := 0; attempt < 2; attempt++ {
		var again []string
		for _, s := range back.Scenarios {
			if s.Inconclusive {
				t.Logf("%s: %s; running it again", s.Name, s.Busy)
				again = append(again, s.Name)
			}
		}
		if len(again) == 0 {
			break
		}
		more := run(t, rt, users, nil, again...)
		for _, s := range more.Scenarios {
			for i, old := range back.Scenarios {
				if old.Name == s.Name {
					back.Scenarios[i] = s
				}
			}
		}
		back.OK, back.Inconclusive = true, 0
		for _, s := range back.Scenarios {
			back.OK = back.OK && s.OK
			if s.Inconclusive {
				back.Inconclusive++
			}
		}
	}
	for _, s := range back.Scenarios {
		if s.Inconclusive {
			t.Errorf("%s: %s, three times: the test could not check it", s.Name, s.Busy)
		}
	}
	for _, s := range back.Scenarios {
		if s.Error != "" {
			t.Errorf("%s failed: %s", s.Name, s.Error)
		}
		failed := false
		for _, e := range s.Expectations {
			if !e.Holds && !s.Inconclusive {
				failed = true
				t.Errorf("%s: %s %s: %s", s.Name, e.Variant, e.Text, e.Observed)
			}
		}
		if failed { // what went wrong, for the log of a run that cannot be repeated
			n := 0
			for _, rq := range s.Requests {
				if rq.Outcome != "" && rq.Outcome != string(scenarios.Kept) && rq.Outcome != string(scenarios.Refused) && n < 5 {
					n++
					t.Logf("  %s %s %s %s at %.2f s: %d %s from %q (%s)", rq.Variant, rq.User, rq.Method, rq.Path, rq.T, rq.Status, rq.Outcome, rq.Instance, rq.Error)
				}
			}
		}
	}
	if !back.OK && !t.Failed() {
		t.Error("the journal says some expectation does not hold")
	}
	return back
}

// run runs the named scenarios once and returns the journal as --json
// writes it, read back.
func run(t *testing.T, rt lab.Runtime, users int, obs []scenarios.Observer, names ...string) *scenarios.Journal {
	t.Helper()
	ctx := context.Background()
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: users, Seed: 7, Observers: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	scs, err := catalog.Find(names...)
	if err != nil {
		t.Fatal(err)
	}
	j, err := rn.Run(ctx, scs)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var back scenarios.Journal
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}
