package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"statelab"
	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

func getState(t *testing.T, url string) report.LiveState {
	t.Helper()
	resp, err := http.Get(url + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st report.LiveState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// killInstance runs kill-instance with users per variant on an
// in-process lab, told to obs, and returns its journal.
func killInstance(t *testing.T, users int, obs ...scenarios.Observer) *scenarios.Journal {
	t.Helper()
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: users, Observers: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	scs, _ := catalog.Find("kill-instance")
	j, err := rn.Run(ctx, scs)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestLiveKillInstance: after kill-instance, the live state shows what the
// terminal shows: the verdict's counts (each user once, the worst of its
// answers), every user under the instance it logged in on, the memory
// users of the killed instance lost, that instance down in the balancer's
// view, the expectations and lesson, and the run over.
func TestLiveKillInstance(t *testing.T) {
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	j := killInstance(t, 12, live)
	st := getState(t, ts.URL)
	rep := j.Scenarios[0]
	if !st.Over || st.Finished == nil || st.Finished.Name != "kill-instance" || !st.Finished.OK || st.Finished.Lesson != rep.Lesson || len(st.Finished.Expectations) != len(rep.Expectations) {
		t.Fatalf("finished %+v, over %v", st.Finished, st.Over)
	}
	for _, v := range st.Order {
		want := rep.Variants[v]
		got := map[string]int{}
		for _, c := range st.Finished.Counts[v] {
			got[c.Outcome] = c.Users
			if c.Good != scenarios.Outcome(c.Outcome).Good(want.Kind) {
				t.Errorf("%s %s judged good=%v", v, c.Outcome, c.Good)
			}
		}
		squares := map[string]int{}
		for _, u := range st.Users[v] {
			squares[u.State]++
			if u.Home == "" {
				t.Errorf("%s %s: no home instance", v, u.Name)
			}
			if u.Home == v+"-2" && v == "memory" && u.State != "lost" {
				t.Errorf("%s: logged in on the killed memory-2 but %s", u.Name, u.State)
			}
		}
		for _, o := range scenarios.Outcomes {
			if got[string(o)] != want.Of(o) || squares[string(o)] != want.Of(o) {
				t.Errorf("%s %s: page %d, squares %d, verdict %d", v, o, got[string(o)], squares[string(o)], want.Of(o))
			}
		}
		if pc := st.Probe.Counts[v]; len(pc) != len(st.Finished.Counts[v]) {
			t.Errorf("%s: probe counts %v, finished %v", v, pc, st.Finished.Counts[v])
		}
		down := ""
		for _, in := range st.Instances[v] {
			if in.State == "down" {
				down += in.Name
			} else if v == "memory" && (in.Sessions == nil || *in.Sessions == 0) {
				t.Errorf("%s holds %v sessions, want some", in.Name, in.Sessions)
			}
		}
		if down != v+"-2" {
			t.Errorf("%s: instances down %q, want %s-2 (%+v)", v, down, v, st.Instances[v])
		}
	}
	if m := st.Finished.Counts["memory"]; len(m) != 2 || m[0].Outcome != "kept" || m[1].Outcome != "lost" || m[1].Good {
		t.Fatalf("memory counts %+v", m)
	}
	if r, err := http.Get(ts.URL + "/"); err != nil || r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("page: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

// TestLiveJudgement: a probe's refusal waits for the verdict, which judges
// it by the probe's kind (good in a replay probe); answers outside probes
// are not judged; answers per instance count the step under way, for at
// most 16 instances.
func TestLiveJudgement(t *testing.T) {
	live := report.NewLive()
	sc := &scenarios.Scenario{Name: "x", Steps: []scenarios.Step{{Title: "a"}, {Title: "b"}}}
	live.ScenarioStarted(sc, 1, 1, map[statelab.Variant][]string{statelab.JWT: {"u1", "u2"}})
	live.StepStarted(sc, 1, sc.Steps[0])
	live.Answered(statelab.JWT, "u1", scenarios.Request{Method: "POST", Path: "/login", Instance: "jwt-1", Status: 200}, "")
	live.Answered(statelab.JWT, "u2", scenarios.Request{Method: "POST", Path: "/login", Instance: "jwt-2", Status: 200}, "")
	live.Noted("logged in")
	st := live.State()
	if u := st.Users["jwt"][0]; u.Home != "jwt-1" || u.State != "ok" || u.Judged != "" {
		t.Fatalf("after login %+v", u)
	}
	live.StepStarted(sc, 2, sc.Steps[1])
	live.Answered(statelab.JWT, "u1", scenarios.Request{Instance: "jwt-3", Status: 401}, scenarios.Refused)
	live.Answered(statelab.JWT, "u2", scenarios.Request{Instance: "jwt-3", Status: 200}, scenarios.ReplayAccepted)
	st = live.State()
	if st.Prev == nil || st.Prev.N != 1 || len(st.Prev.Notes) != 1 {
		t.Fatalf("the step before and its notes: %+v", st.Prev)
	}
	if u := st.Users["jwt"][0]; u.Judged != "pending" || u.Home != "jwt-1" || u.Instance != "jwt-3" {
		t.Fatalf("a refusal before the verdict: %+v", u)
	}
	if u := st.Users["jwt"][1]; u.Judged != "bad" {
		t.Fatalf("an accepted replay: %+v", u)
	}
	vd := &scenarios.Verdict{Name: "replay", Kind: scenarios.Replay,
		Outcome: map[statelab.Variant]map[string]scenarios.Outcome{statelab.JWT: {"u1": scenarios.Refused, "u2": scenarios.ReplayAccepted}},
		Tallies: map[statelab.Variant]*scenarios.Tally{statelab.JWT: {Kind: scenarios.Replay, Users: 2, Count: map[scenarios.Outcome]int{scenarios.Refused: 1, scenarios.ReplayAccepted: 1}}}}
	live.Probed(vd)
	st = live.State()
	if u := st.Users["jwt"][0]; u.Judged != "good" {
		t.Fatalf("a refused replay after the verdict: %+v", u)
	}
	if c := st.Probe.Counts["jwt"]; len(c) != 2 || !c[0].Good || c[0].Outcome != "refused" || c[1].Good {
		t.Fatalf("probe counts %+v", c)
	}
	if in := st.Instances["jwt"]; len(in) != 3 || in[2].Name != "jwt-3" || in[2].Answers != 2 || in[0].Answers != 0 {
		t.Fatalf("answers per instance in step 2: %+v", in)
	}
	for i := 0; i < 40; i++ {
		live.Answered(statelab.JWT, "u1", scenarios.Request{Instance: "jwt-x" + strconv.Itoa(i), Status: 200}, "")
	}
	if n := len(live.State().Instances["jwt"]); n != 16 {
		t.Fatalf("%d instances shown, want the bound, 16", n)
	}
}

// waitPacer records the live state while it waits.
type waitPacer struct {
	live *report.Live
	seen []report.LiveState
}

func (p *waitPacer) Pause(context.Context, scenarios.Pause) scenarios.Decision {
	p.seen = append(p.seen, p.live.State())
	return scenarios.Go
}

// TestLivePacer: while the run waits for Enter, the state says so, and
// which step (or the verdict) comes next; once it goes on, it does not.
func TestLivePacer(t *testing.T) {
	live := report.NewLive()
	wp := &waitPacer{live: live}
	p := live.Pacer(wp)
	sc := &scenarios.Scenario{Name: "x", Steps: []scenarios.Step{{Title: "a"}}}
	live.ScenarioStarted(sc, 1, 1, nil)
	live.StepStarted(sc, 1, sc.Steps[0])
	p.Pause(context.Background(), scenarios.Pause{Step: 1, Steps: 1})
	p.Pause(context.Background(), scenarios.Pause{Step: 1, Steps: 1, Verdict: true})
	if len(wp.seen) != 2 || !wp.seen[0].Waiting || wp.seen[0].Verdict || !wp.seen[1].Verdict {
		t.Fatalf("while waiting: %+v", wp.seen)
	}
	if st := live.State(); st.Waiting {
		t.Fatal("still waiting after Enter")
	}
	live.End("until Enter")
	if st := live.State(); !st.Over || st.Held != "until Enter" {
		t.Fatalf("after the run, held: %+v", st)
	}
}

// TestLiveEnded: the page says how each scenario ended, never "holds" for
// one that did not pass.
func TestLiveEnded(t *testing.T) {
	holds := []scenarios.ExpectationResult{{Holds: true}, {Holds: true}}
	for _, tc := range []struct {
		rep  scenarios.ScenarioReport
		want string
	}{
		{scenarios.ScenarioReport{OK: true, Expectations: holds}, "every expectation holds"},
		{scenarios.ScenarioReport{Expectations: append(holds, scenarios.ExpectationResult{})}, "1 of 3 expectations FAIL"},
		{scenarios.ScenarioReport{Expectations: holds}, "did not pass"},
		{scenarios.ScenarioReport{Error: "step 2: boom", Expectations: holds}, "failed: step 2: boom"},
		{scenarios.ScenarioReport{Skipped: true}, "skipped by the instructor"},
		{scenarios.ScenarioReport{Stopped: true}, "stopped by the instructor"},
		{scenarios.ScenarioReport{Inconclusive: true, Busy: "inconclusive: this machine was too busy to judge it (redis: 3 requests timed out)",
			Expectations: append(holds, scenarios.ExpectationResult{Inconclusive: true})}, "inconclusive: this machine was too busy to judge it (redis: 3 requests timed out)"},
		{scenarios.ScenarioReport{Expectations: append(holds, scenarios.ExpectationResult{Inconclusive: true}, scenarios.ExpectationResult{})}, "1 of 4 expectations FAIL"},
	} {
		live := report.NewLive()
		rep := tc.rep
		rep.Name = "x"
		live.ScenarioFinished(nil, &rep)
		st := live.State()
		if st.Done[0].How != tc.want || st.Finished.How != tc.want {
			t.Errorf("%+v: %q / %q, want %q", tc.rep, st.Done[0].How, st.Finished.How, tc.want)
		}
	}
}

// TestLiveUsersBounded: the state carries at most 400 users per variant,
// and says how many there are.
func TestLiveUsersBounded(t *testing.T) {
	live := report.NewLive()
	var names []string
	for i := 0; i < 5000; i++ {
		names = append(names, "u"+strconv.Itoa(i))
	}
	sc := &scenarios.Scenario{Name: "x", Steps: []scenarios.Step{{Title: "a"}}}
	live.ScenarioStarted(sc, 1, 1, map[statelab.Variant][]string{statelab.Memory: names})
	live.Answered(statelab.Memory, "u4999", scenarios.Request{Instance: "memory-1", Status: 200}, "")
	st := live.State()
	if len(st.Users["memory"]) != 400 || st.UsersTotal["memory"] != 5000 {
		t.Fatalf("%d users in the state, total %d; want 400 and 5000", len(st.Users["memory"]), st.UsersTotal["memory"])
	}
}

// TestLiveKeepsTheEnd: once a scenario has ended, its last reading of
// the instances stays under its verdict: an instance killed by hand
// afterwards does not change it; the same scenario started again drops the
// old verdict and draws the instances anew.
func TestLiveKeepsTheEnd(t *testing.T) {
	live := report.NewLive()
	sc := &scenarios.Scenario{Name: "x", Steps: []scenarios.Step{{Title: "a"}}}
	state := func(name string) string {
		for _, in := range live.State().Instances["memory"] {
			if in.Name == name {
				return in.State
			}
		}
		return "missing"
	}
	one := func(state string) scenarios.Reading {
		return scenarios.Reading{At: time.Now(), Instances: []scenarios.InstanceState{{Variant: "memory", Name: "memory-1", State: state}}}
	}
	live.ScenarioStarted(sc, 1, 1, nil)
	live.Instances(scenarios.Reading{At: time.Now(), Whole: true, Instances: []scenarios.InstanceState{
		{Variant: "memory", Name: "memory-1", State: "up"}, {Variant: "memory", Name: "memory-2", State: "up"}}})
	live.ScenarioFinished(sc, &scenarios.ScenarioReport{Name: "x", OK: true})
	if st := live.State(); st.Finished == nil || st.Finished.AsOf == "" || state("memory-1") != "up" {
		t.Fatalf("after the end: finished %+v, memory-1 %s", st.Finished, state("memory-1"))
	}
	live.Instances(one("down"))
	if got := state("memory-1"); got != "up" {
		t.Errorf("under the verdict, memory-1 killed afterwards shows %s: want the end's up", got)
	}
	live.ScenarioStarted(sc, 1, 1, nil)
	if live.State().Finished != nil {
		t.Error("the same scenario started again still shows the last verdict")
	}
	live.Instances(one("down"))
	if got := state("memory-1"); got != "down" {
		t.Errorf("during the new run memory-1 shows %s, want down", got)
	}
	live.Instances(one(scenarios.Removed))
	if got := state("memory-1"); got != "missing" || state("memory-2") != "up" {
		t.Errorf("memory-1 removed shows %s (memory-2 %s)", got, state("memory-2"))
	}
	live.Instances(scenarios.Reading{Whole: true, Unread: "the balancer did not answer"})
	if st := live.State(); st.Followed || st.Unfollow == "" || state("memory-2") != "up" {
		t.Errorf("an unread reading: followed %v %q, memory-2 %s", st.Followed, st.Unfollow, state("memory-2"))
	}
}

// TestLiveLastPicture: the page's last state is the lab as the run left
// it, drawn from the run's own readings alone: every killed instance
// down, under the verdict; and each kill is drawn down from the event
// that says so, before the balancer notices.
func TestLiveLastPicture(t *testing.T) {
	live := report.NewLive()
	j := killInstance(t, 6, live)
	st := live.State()
	if st.Finished == nil || st.Finished.AsOf == "" || !st.Followed {
		t.Fatalf("finished %+v (followed %v): no reading kept under the verdict", st.Finished, st.Followed)
	}
	for _, v := range st.Order {
		if len(st.Instances[v]) != 3 {
			t.Errorf("%s: %d instances on the page", v, len(st.Instances[v]))
		}
		for _, in := range st.Instances[v] {
			if want := in.Name == v+"-2"; (in.State == "down") != want {
				t.Errorf("%s is %s at the end of kill-instance", in.Name, in.State)
			}
		}
	}
	killed := map[string]bool{}
	for _, e := range j.Output {
		if e.Kind == scenarios.OutFinished {
			break
		}
		if e.Kind == scenarios.OutInstances && !e.Reading.Whole {
			for _, in := range e.Reading.Instances {
				if in.State == "down" && strings.Contains(in.Why, "killed by the scenario") {
					killed[in.Name] = true
				}
			}
		}
	}
	if len(killed) != 4 {
		t.Errorf("the kills told as events: %v, want the four -2 instances", killed)
	}
}

// TestForwardedLive: a run told to another process (lab run --up to lab
// up) draws the same page there as here: the same verdict, squares and
// instances, from its events alone.
func TestForwardedLive(t *testing.T) {
	here, there := report.NewLive(), report.NewLive()
	teller := &scenarios.Teller{Obs: there}
	sent := 0
	forward := scenarios.NewForward(func(_ context.Context, events []scenarios.OutputEvent) error {
		// Through JSON, as the control socket carries them.
		b, err := json.Marshal(events)
		if err != nil {
			return err
		}
		var back []scenarios.OutputEvent
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		sent += len(back)
		teller.Tell(back)
		return nil
	})
	killInstance(t, 8, here, forward)
	if err := forward.Close(); err != nil {
		t.Fatal(err)
	}
	a, b := here.State(), there.State()
	a.Version, b.Version = 0, 0
	if b.Finished == nil || !b.Over || sent == 0 {
		t.Fatalf("told %d events: finished %+v, over %v", sent, b.Finished, b.Over)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("the page told the run differs from the run's own:\nhere  %s\nthere %s", ja, jb)
	}
}

// TestLiveSeen: only a page that asks with the version it drew counts as
// having drawn the end: no seen, a bad one, a negative one, one ahead of
// the state (which no page can have drawn) or an old one leave the run
// waiting (bounded, by the run); the current one ends the wait.
func TestLiveSeen(t *testing.T) {
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	live.End("")
	version := getState(t, ts.URL).Version
	for _, q := range []string{"", "?seen=", "?seen=abc", "?seen=-5", fmt.Sprintf("?seen=%d", version+1), "?seen=99999999999999999999", fmt.Sprintf("?seen=%d", version-1)} {
		r, err := http.Get(ts.URL + "/state" + q)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("/state%s: %v %v", q, r, err)
		}
		r.Body.Close()
		if ever, current := live.Served(); !ever || current {
			t.Errorf("/state%s: served %v, drawn %v; want served, not drawn", q, ever, current)
		}
	}
	r, err := http.Get(fmt.Sprintf("%s/state?seen=%d", ts.URL, version))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if _, current := live.Served(); !current {
		t.Error("a page that says it drew the current state is not counted")
	}
}
