package scenarios_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"statelab/internal/labtest"
	"statelab/scenarios"
	"statelab/scenarios/local"
	"statelab/servers"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// runLocal runs the named scenarios in a local lab and returns the journal,
// decoded from its JSON as a user of --json would read it.
func runLocal(t *testing.T, redis string, names ...string) *scenarios.Journal {
	t.Helper()
	ctx := context.Background()
	rt, err := local.Start(ctx, local.Options{Redis: redis, Exe: labtest.Binary(t)})
	if err != nil {
		t.Fatalf("start the local lab: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	var out bytes.Buffer
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 30, Seed: 7, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	scs, err := scenarios.Find(names...)
	if err != nil {
		t.Fatal(err)
	}
	j, err := rn.Run(ctx, scs)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, s := range j.Scenarios {
		if s.Error != "" {
			t.Errorf("%s failed: %s", s.Name, s.Error)
		}
	}
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var back scenarios.Journal
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.OK {
		t.Errorf("some expectations do not hold:\n%s", out.String())
		for _, s := range back.Scenarios {
			n := 0
			for _, r := range s.Requests {
				if r.Error != "" && n < 10 {
					t.Logf("%s: %s %s %s %s -> %d %s: %s", s.Name, r.Variant, r.User, r.Method, r.Path, r.Status, r.Instance, r.Error)
					n++
				}
			}
		}
	}
	for _, s := range back.Scenarios {
		for _, e := range s.Expectations {
			if !e.Holds {
				t.Errorf("%s: %s %s: %s", s.Name, e.Variant, e.Text, e.Observed)
			}
		}
	}
	return &back
}

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

// TestCatalogue runs every scenario in a local lab with the Redis it picks
// (redis-server when on PATH, as in CI), checks every expectation from the
// JSON journal, and the figures the catalogue promises.
func TestCatalogue(t *testing.T) {
	j := runLocal(t, "auto", "all")
	if got, want := len(j.Scenarios), len(scenarios.All()); got != want {
		t.Fatalf("%d scenarios in the journal, want %d", got, want)
	}
	if _, err := exec.LookPath("redis-server"); err == nil && strings.Contains(j.Runtime, "embedded") {
		t.Errorf("runtime %q: redis-server is on PATH, yet the lab did not use it", j.Runtime)
	}
	for _, v := range []string{"redis", "jwt"} {
		for _, name := range []string{"round-robin", "sticky", "kill-instance", "rolling-restart", "scale-out", "switch-routing"} {
			if got := tally(t, j, name, v); got.Kept != 30 || got.Users != 30 {
				t.Errorf("%s %s: %+v, want 30 of 30 kept", name, v, got)
			}
		}
	}
	if rr := tally(t, j, "round-robin", "memory"); rr.LostSession < 16 {
		t.Errorf("round-robin memory: %+v, want most users lost", rr)
	}
	if k := tally(t, j, "kill-instance", "memory"); k.LostSession < 5 || k.LostSession > 15 || k.Kept+k.LostSession != 30 {
		t.Errorf("kill-instance memory: %+v, want about a third lost, the rest kept", k)
	}
	if k := tally(t, j, "kill-instance", "jwt"); k.DetectSeconds == nil || *k.DetectSeconds > 1 {
		t.Errorf("kill-instance jwt detect: %v, want within a second", k.DetectSeconds)
	}
	if rr := tally(t, j, "rolling-restart", "memory"); rr.LostSession != 30 {
		t.Errorf("rolling-restart memory: %+v, want every user lost", rr)
	}
	if so := tally(t, j, "scale-out", "memory"); so.LostSession == 0 || so.Kept == 0 {
		t.Errorf("scale-out memory: %+v, want some users moved and lost, some kept", so)
	}
	if rd := tally(t, j, "redis-down", "redis"); rd.Unavailable != 30 {
		t.Errorf("redis-down redis (failing closed): %+v, want 30 unavailable", rd)
	}
	if lr := tally(t, j, "logout-replay", "jwt"); lr.Kept != 30 {
		t.Errorf("logout-replay jwt: %+v, want every old token accepted", lr)
	}
	if lr := tally(t, j, "logout-replay", "memory"); lr.LostSession != 30 {
		t.Errorf("logout-replay memory: %+v, want every old cookie refused", lr)
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

// TestEmbeddedRedis runs the scenarios that depend on Redis's behaviour with
// the embedded Redis, the one a machine without redis-server gets.
func TestEmbeddedRedis(t *testing.T) {
	j := runLocal(t, "embedded", "redis-down", "logout-replay", "key-rotation")
	if !strings.Contains(j.Runtime, "embedded") {
		t.Errorf("runtime %q does not say the Redis is embedded", j.Runtime)
	}
	if rd := tally(t, j, "redis-down", "redis"); rd.Unavailable != 30 {
		t.Errorf("redis-down redis: %+v, want 30 unavailable", rd)
	}
}

func mustFind(t *testing.T, name string) *scenarios.Scenario {
	scs, err := scenarios.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return scs[0]
}

func TestPlanIsDeterministic(t *testing.T) {
	a, b := scenarios.NewPlan(42, 50), scenarios.NewPlan(42, 50)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed and user count gave two plans")
	}
	if c := scenarios.NewPlan(43, 50); reflect.DeepEqual(a.Users, c.Users) {
		t.Fatal("two seeds gave the same plan")
	}
	for _, u := range a.Users {
		if len(u.Items) < 2 || len(u.Items) > 3 {
			t.Fatalf("%s has %d items", u.Name, len(u.Items))
		}
		seen := map[string]bool{}
		for _, it := range u.Items {
			if seen[it.Item] || it.Qty < 1 || it.Qty > servers.MaxQty {
				t.Fatalf("%s: bad item %+v", u.Name, it)
			}
			seen[it.Item] = true
		}
	}
}

func TestFind(t *testing.T) {
	if _, err := scenarios.Find("nope"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown scenario: %v", err)
	}
	all, err := scenarios.Find("all")
	if err != nil || len(all) != len(scenarios.All()) {
		t.Errorf("all: %d, %v", len(all), err)
	}
}
