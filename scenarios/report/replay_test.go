package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

// TestReplayTellsTheSame: a run's journal, read back, told again to the
// terminal printer, prints what the run printed, line for line: the
// steps, notes, probes, verdict tables, expectations, lessons and grid.
// At both widths, concise (several scenarios) and whole (one).
func TestReplayTellsTheSame(t *testing.T) {
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for _, names := range [][]string{{"kill-instance", "rolling-restart"}, {"kill-instance"}} {
		var live bytes.Buffer
		text := report.NewText(&live, false, false)
		rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 12, Observers: []scenarios.Observer{text}})
		if err != nil {
			t.Fatal(err)
		}
		scs, _ := catalog.Find(names...)
		j, err := rn.Run(ctx, scs)
		rn.Close()
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var back scenarios.Journal
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if err := scenarios.ReplayRun(ctx, &back, report.NewText(&again, false, false), scenarios.ReplayOptions{}); err != nil {
			t.Fatal(err)
		}
		if live.String() != again.String() {
			t.Errorf("%v: the replay differs from the run.\nrun:\n%s\nreplay:\n%s", names, live.String(), again.String())
		}
		if len(back.Output) == 0 || !back.OutputWhole {
			t.Errorf("%v: output %d events, whole %v", names, len(back.Output), back.OutputWhole)
		}
		// The live page, driven by the replay: the last scenario's verdict,
		// and every user's square judged as the verdict counts it.
		page := report.NewLive()
		if err := scenarios.ReplayRun(ctx, &back, page, scenarios.ReplayOptions{}); err != nil {
			t.Fatal(err)
		}
		st, last := page.State(), back.Scenarios[len(back.Scenarios)-1]
		if st.Finished == nil || st.Finished.Name != last.Name || st.Finished.Lesson != last.Lesson {
			t.Fatalf("%v: the page ends on %+v, want %s's verdict", names, st.Finished, last.Name)
		}
		for v, tally := range last.Variants {
			squares := map[string]int{}
			for _, u := range st.Users[v] {
				squares[u.State]++
			}
			for o, n := range tally.Count {
				if squares[string(o)] != n {
					t.Errorf("%v %s: %d squares %s, the verdict counts %d", names, v, squares[string(o)], o, n)
				}
			}
		}
	}
}
