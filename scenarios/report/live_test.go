package report_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

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
	scs, _ := catalog.Find("round-robin")
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
	if st.Scenario != "round-robin" || st.Step != st.Steps || len(st.Done) != 1 || !st.Done[0].OK {
		t.Fatalf("state %+v", st)
	}
	for _, v := range []string{"memory", "redis", "jwt"} {
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
