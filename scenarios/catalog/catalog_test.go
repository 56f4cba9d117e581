package catalog_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"statelab/internal/child"
	"statelab/internal/labtest"
	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
)

func tally(t *testing.T, j *scenarios.Journal, name, variant string) scenarios.Tally {
	t.Helper()
	for _, s := range j.Scenarios {
		if s.Name == name {
			return s.Variants[variant]
		}
	}
	t.Fatalf("no scenario %s in the journal", name)
	return scenarios.Tally{}
}

// TestCatalogue runs every scenario of the catalogue on a lab inside this
// process, checks every expectation from the JSON journal, and the figures
// the catalogue promises. It starts no child process.
func TestCatalogue(t *testing.T) {
	rt, err := inproc.Start(context.Background(), inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	before := child.Children(os.Getpid())
	j := labtest.Scenarios(t, rt, 30, "all")
	if got, want := len(j.Scenarios), len(catalog.All()); got != want {
		t.Fatalf("%d scenarios in the journal, want %d", got, want)
	}
	if after := child.Children(os.Getpid()); len(after) > len(before) {
		t.Errorf("the in-process lab started processes: %v", after)
	}
	for _, v := range []string{"redis", "jwt"} {
		for _, name := range []string{"round-robin", "sticky", "kill-instance", "rolling-restart", "scale-out", "switch-routing"} {
			if got := tally(t, j, name, v); got.Kept != 30 || got.Users != 30 {
				t.Errorf("%s %s: %+v, want 30 of 30 kept", name, v, got)
			}
		}
	}
	if k := tally(t, j, "kill-instance", "memory"); k.LostSession < 5 || k.LostSession > 15 || k.Kept+k.LostSession != 30 {
		t.Errorf("kill-instance memory: %+v, want about a third lost, the rest kept", k)
	}
	if rr := tally(t, j, "rolling-restart", "memory"); rr.LostSession != 30 {
		t.Errorf("rolling-restart memory: %+v, want every user lost", rr)
	}
	if rd := tally(t, j, "redis-down", "redis"); rd.Unavailable != 30 {
		t.Errorf("redis-down redis (failing closed): %+v, want 30 unavailable", rd)
	}
	if lr := tally(t, j, "logout-replay", "jwt"); lr.Kept != 30 {
		t.Errorf("logout-replay jwt: %+v, want every old token accepted", lr)
	}
	for _, s := range j.Scenarios {
		if s.Name == "cost" && (len(s.Tables) != 1 || len(s.Tables[0].Rows) != 9) {
			t.Errorf("cost: tables %+v, want one with a row per variant and size", s.Tables)
		}
		if len(s.Requests) == 0 || len(s.Steps) != len(mustFind(t, s.Name).Steps) || s.Lesson == "" || s.Verdict == "" {
			t.Errorf("%s: %d requests, %d steps, verdict %q, lesson %q: the journal is incomplete", s.Name, len(s.Requests), len(s.Steps), s.Verdict, s.Lesson)
		}
	}
}

func mustFind(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	scs, err := catalog.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return scs[0]
}

func TestFind(t *testing.T) {
	if _, err := catalog.Find("nope"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown scenario: %v", err)
	}
	all, err := catalog.Find("all")
	if err != nil || len(all) != len(catalog.All()) {
		t.Errorf("all: %d, %v", len(all), err)
	}
	if two, err := catalog.Find("sticky", "round-robin"); err != nil || len(two) != 2 || two[0].Name != "sticky" {
		t.Errorf("two names: %v, %v; want them in the order named", two, err)
	}
	if _, err := catalog.Find(); err == nil {
		t.Error("no name: want an error")
	}
}

// TestScenariosAreComplete: every scenario has what the reports print.
func TestScenariosAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range catalog.All() {
		if seen[s.Name] {
			t.Errorf("scenario %s twice", s.Name)
		}
		seen[s.Name] = true
		if s.Summary == "" || s.Setup == "" || len(s.Claims) == 0 || len(s.Steps) == 0 || len(s.Expect) == 0 || s.Lesson == nil {
			t.Errorf("%s lacks a summary, setup, claim, step, expectation or lesson", s.Name)
		}
		for _, st := range s.Steps {
			if st.Title == "" || st.Why == "" || st.Run == nil {
				t.Errorf("%s: step %q lacks a title, narration or action", s.Name, st.Title)
			}
		}
	}
}
