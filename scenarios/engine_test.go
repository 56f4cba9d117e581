package scenarios_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"statelab"
	"statelab/lab"
	"statelab/lab/inproc"
	"statelab/scenarios"
)

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
			if seen[it.Item] || it.Qty < 1 || it.Qty > statelab.MaxQty {
				t.Fatalf("%s: bad item %+v", u.Name, it)
			}
			seen[it.Item] = true
		}
	}
}

// pacer answers the step prompts from a script.
type pacer struct{ answers []scenarios.Decision }

func (p *pacer) Pause(context.Context, scenarios.Pause) scenarios.Decision {
	if len(p.answers) == 0 {
		return scenarios.Go
	}
	d := p.answers[0]
	p.answers = p.answers[1:]
	return d
}

// recorder is an observer that keeps the notes and the finished reports.
type recorder struct {
	scenarios.Base
	notes    []string
	finished []string
}

func (r *recorder) Noted(s string)  { r.notes = append(r.notes, s) }
func (r *recorder) Asided(s string) { r.notes = append(r.notes, s) }
func (r *recorder) ScenarioFinished(sc *scenarios.Scenario, _ *scenarios.ScenarioReport) {
	r.finished = append(r.finished, sc.Name)
}

// probeOnce is a one-step scenario: log users in, probe once.
func probeOnce(name, verdict string) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name: name, Summary: "a test", Setup: "nothing fails",
		Steps: []scenarios.Step{
			{Title: "log in", Why: "a baseline", Run: func(r *scenarios.Run) error { return r.FillAll() }},
			{Title: "probe", Why: "who are you", Run: func(r *scenarios.Run) error {
				_, err := r.Probe("probed", 1)
				return err
			}},
		},
		Expect: []scenarios.Expectation{{Variant: statelab.JWT, Text: "keeps every user", Check: func(res *scenarios.Result) (bool, string) {
			t := res.Verdict(verdict).Tallies[statelab.JWT]
			return t.Users > 0 && t.Of(scenarios.Kept) == t.Users, ""
		}}},
	}
}

// TestEngine runs made-up scenarios on a lab inside this process: a typo
// in a verdict name fails the scenario instead of passing for an outcome,
// and the pacer's decisions are followed.
func TestEngine(t *testing.T) {
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	run := func(p scenarios.Pacer, scs ...*scenarios.Scenario) (*scenarios.Journal, *recorder, error) {
		rec := &recorder{}
		rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 3, Pacer: p, Observers: []scenarios.Observer{rec}})
		if err != nil {
			t.Fatal(err)
		}
		defer rn.Close()
		j, err := rn.Run(ctx, scs)
		return j, rec, err
	}

	j, _, err := run(nil, probeOnce("right", "probed"), probeOnce("typo", "probd"))
	if err != nil {
		t.Fatal(err)
	}
	if !j.Scenarios[0].OK {
		t.Errorf("the right verdict name: %+v", j.Scenarios[0].Expectations)
	}
	typo := j.Scenarios[1]
	if typo.OK || j.OK {
		t.Fatalf("a verdict name no probe made passed: %+v", typo.Expectations)
	}
	found := false
	for _, e := range typo.Expectations {
		found = found || !e.Holds && strings.Contains(e.Text, `"probd"`)
	}
	if !found {
		t.Errorf("no expectation names the missing probe: %+v", typo.Expectations)
	}

	j, rec, err := run(&pacer{answers: []scenarios.Decision{scenarios.Go, scenarios.Restart, scenarios.Go, scenarios.Skip}}, probeOnce("paced", "probed"))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Scenarios) != 1 || !j.Scenarios[0].Skipped || len(j.Scenarios[0].Steps) != 1 {
		t.Errorf("restart, then skip at step 2: %+v", j.Scenarios)
	}
	if !strings.Contains(strings.Join(rec.notes, "\n"), "starting paced again") {
		t.Errorf("no note of the restart: %q", rec.notes)
	}

	// A scenario that needs a capability the runtime lacks is skipped
	// before its first step, and says which; the others run.
	slow := probeOnce("slow", "probed")
	slow.Needs = []lab.Capability{lab.SlowRedis}
	rn, err := scenarios.NewRunner(ctx, coreOnly{rt}, scenarios.Options{Users: 3})
	if err != nil {
		t.Fatal(err)
	}
	j, err = rn.Run(ctx, []*scenarios.Scenario{slow, probeOnce("plain", "probed")})
	rn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sk := j.Scenarios[0]; !sk.Skipped || len(sk.Steps) != 0 || !strings.Contains(sk.SkippedHow(), "cannot delay Redis's answers") {
		t.Errorf("a scenario that needs to slow Redis, on a runtime that cannot: skipped %v, %d steps, %q", sk.Skipped, len(sk.Steps), sk.SkippedHow())
	}
	if !j.Scenarios[1].OK || !j.OK {
		t.Errorf("the scenario that needs nothing more: %+v", j.Scenarios[1])
	}
	if !lab.Has(rt, lab.SlowRedis) || lab.Has(coreOnly{rt}, lab.SlowRedis) {
		t.Error("lab.Has does not tell the in-process runtime from its core")
	}

	j, _, err = run(&pacer{answers: []scenarios.Decision{scenarios.Quit}}, probeOnce("quit", "probed"), probeOnce("never", "probed"))
	if err != scenarios.ErrQuit || len(j.Scenarios) != 1 || !j.Scenarios[0].Stopped || j.Scenarios[0].Error != "" {
		t.Errorf("quit: err %v, %d scenarios (%+v); want ErrQuit after the first, marked stopped, not failed", err, len(j.Scenarios), j.Scenarios)
	}
}

// coreOnly is a runtime with the core methods only: no capability.
type coreOnly struct{ lab.Runtime }

// twoInstances is a lab with two instances of each variant: too few for
// the scenarios, which act on instances 1 to 3.
type twoInstances struct{ lab.Runtime }

func (twoInstances) Instances(v statelab.Variant) []string {
	return []string{string(v) + "-1", string(v) + "-2"}
}

// TestRunnerNeedsThreeInstances: a runner refuses, in a sentence, a lab
// too small for the scenarios instead of failing inside one.
func TestRunnerNeedsThreeInstances(t *testing.T) {
	_, err := scenarios.NewRunner(context.Background(), twoInstances{}, scenarios.Options{})
	if err == nil || !strings.Contains(err.Error(), "this lab runs 2 memory instance(s)") {
		t.Fatalf("NewRunner on 2 instances: %v", err)
	}
}

// disturbed is a one-step scenario whose step records that the machine
// disturbed jwt, and whose expectations hold or fail as told.
func disturbed(name string, jwtHolds, memoryHolds bool) *scenarios.Scenario {
	return &scenarios.Scenario{
		Name: name, Summary: "a test", Setup: "the machine is busy",
		Steps: []scenarios.Step{{Title: "be busy", Why: "a test", Run: func(r *scenarios.Run) error {
			r.Disturbed(statelab.JWT, "jwt: 3 requests timed out with no delay injected")
			_, err := r.Probe("probed", 1)
			return err
		}}},
		Expect: []scenarios.Expectation{
			{Variant: statelab.JWT, Text: "does what jwt was told", Check: func(*scenarios.Result) (bool, string) { return jwtHolds, "" }},
			{Variant: statelab.Memory, Text: "does what memory was told", Check: func(*scenarios.Result) (bool, string) { return memoryHolds, "" }},
		},
		Lesson: func(*scenarios.Result) string { return "what the numbers teach" },
	}
}

// TestInconclusive: a prediction that fails where the machine disturbed
// its variant is inconclusive, not FAILS; one that fails where nothing
// disturbed it FAILS; one that holds holds, disturbed or not.
func TestInconclusive(t *testing.T) {
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 2, NoCalibration: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	j, err := rn.Run(ctx, []*scenarios.Scenario{disturbed("holds", true, true), disturbed("unsure", false, true), disturbed("fails", false, false)})
	if err != nil {
		t.Fatal(err)
	}
	if j.Calibration == nil || !j.Calibration.Off || !strings.Contains(j.Calibration.Line, "not calibrated") {
		t.Errorf("calibration off: %+v", j.Calibration)
	}
	holds, unsure, fails := j.Scenarios[0], j.Scenarios[1], j.Scenarios[2]
	if !holds.OK || holds.Inconclusive || len(holds.Disturbances) != 1 || holds.Lesson == "" {
		t.Errorf("every expectation holds, jwt disturbed: ok %v, inconclusive %v, %+v", holds.OK, holds.Inconclusive, holds.Disturbances)
	}
	if unsure.OK || !unsure.Inconclusive || !unsure.Expectations[0].Inconclusive || unsure.Expectations[1].Inconclusive ||
		!strings.Contains(unsure.Busy, "inconclusive: this machine was too busy to judge it (jwt: 3 requests timed out with no delay injected)") || unsure.Lesson != "" {
		t.Errorf("jwt's prediction failed where jwt was disturbed: %+v, %q", unsure.Expectations, unsure.Busy)
	}
	if fails.OK || fails.Inconclusive || fails.Expectations[1].Inconclusive {
		t.Errorf("memory's prediction failed where only jwt was disturbed: inconclusive %v, %+v", fails.Inconclusive, fails.Expectations)
	}
	if j.OK || j.Failed != 1 || j.Inconclusive != 1 {
		t.Errorf("journal: ok %v, %d failed, %d inconclusive; want false, 1, 1", j.OK, j.Failed, j.Inconclusive)
	}
	var statuses []string
	for _, row := range j.Summary {
		statuses = append(statuses, row.Scenario+":"+row.Status)
	}
	if !slices.Contains(statuses, "unsure:inconclusive") || slices.Contains(statuses, "holds:inconclusive") {
		t.Errorf("summary statuses: %v", statuses)
	}
}
