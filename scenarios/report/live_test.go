package report_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"statelab"
	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

// TestLive: after a run, the live state names the scenario, its steps, and
// each user's latest answer; the page is served.
func TestLive(t *testing.T) {
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 5, Observers: []scenarios.Observer{live}})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	scs, _ := catalog.Find("sticky-imbalance")
	if _, err := rn.Run(ctx, scs); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(ts.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st report.LiveState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.Scenario != "sticky-imbalance" || st.Step != st.Steps || len(st.Done) != 1 || !st.Done[0].OK {
		t.Fatalf("state %+v", st)
	}
	if len(st.Order) != len(statelab.Variants) || st.Order[3] != "cookie" {
		t.Fatalf("the page shows the variants %v", st.Order)
	}
	for _, v := range st.Order {
		users := st.Variants[v]
		if len(users) != 5 {
			t.Fatalf("%s: %d users", v, len(users))
		}
		for _, u := range users {
			if u.State == "new" || u.Instance == "" {
				t.Errorf("%s %s: %+v, want its latest answer", v, u.Name, u)
			}
		}
	}
	if r, err := http.Get(ts.URL + "/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("page: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}

// TestLiveAnswers: the page counts, per variant, the answers each instance
// gave in the latest step that sent requests (kept while the next step has
// sent none), and at most 16 instances per variant.
func TestLiveAnswers(t *testing.T) {
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	sc := &scenarios.Scenario{Name: "x", Steps: []scenarios.Step{{Title: "a"}, {Title: "b"}}}
	live.ScenarioStarted(sc, 1, 1, map[statelab.Variant][]string{statelab.Memory: {"u1", "u2"}})
	state := func() report.LiveState {
		resp, err := http.Get(ts.URL + "/state")
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
	live.StepStarted(sc, 1, sc.Steps[0])
	for i := 0; i < 3; i++ {
		live.Answered(statelab.Memory, "u1", scenarios.Request{Instance: "memory-1", Status: 200}, scenarios.Kept)
	}
	live.Answered(statelab.Memory, "u2", scenarios.Request{Instance: "memory-3", Status: 401}, scenarios.Refused)
	live.Answered(statelab.Memory, "u2", scenarios.Request{Status: 0}, scenarios.Unavailable) // no instance answered
	if got := state().Answers["memory"]; got["memory-1"] != 3 || got["memory-3"] != 1 || len(got) != 2 {
		t.Fatalf("answers %v, want memory-1 3 and memory-3 1", got)
	}
	live.StepStarted(sc, 2, sc.Steps[1])
	if st := state(); st.AnswersStep != 1 || st.Answers["memory"]["memory-1"] != 3 || len(st.Instances["memory"]) != 2 {
		t.Fatalf("step 2 has sent nothing yet: answers of step %d %v, want step 1's", st.AnswersStep, st.Answers)
	}
	for i := 0; i < 40; i++ {
		live.Answered(statelab.Memory, "u1", scenarios.Request{Instance: "memory-" + strconv.Itoa(i), Status: 200}, scenarios.Kept)
	}
	if st := state(); len(st.Answers["memory"]) != 16 || st.AnswersStep != 2 {
		t.Fatalf("step %d, %d instances counted, want step 2 and the bound, 16", st.AnswersStep, len(st.Answers["memory"]))
	}
}
