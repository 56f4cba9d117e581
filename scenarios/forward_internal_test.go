package scenarios

import (
	"testing"

	"statelab"
)

// counting counts what a Teller told it.
type counting struct {
	Base
	started, steps, probes, finished, answers int
}

func (c *counting) ScenarioStarted(*Scenario, int, int, map[statelab.Variant][]string) { c.started++ }
func (c *counting) StepStarted(*Scenario, int, Step)                                   { c.steps++ }
func (c *counting) Probed(*Verdict)                                                    { c.probes++ }
func (c *counting) ScenarioFinished(*Scenario, *ScenarioReport)                        { c.finished++ }
func (c *counting) Answered(statelab.Variant, string, Request, Outcome)                { c.answers++ }

// TestTellerHostile: events that came over the control socket may be
// anything its holder sent: a step before any scenario, a scenario, probe,
// answer or end without its payload, unknown kinds. The teller passes
// them over; it never panics, and tells only what it can.
func TestTellerHostile(t *testing.T) {
	c := &counting{}
	tl := &Teller{Obs: c}
	tl.Tell([]OutputEvent{
		{Kind: OutStep, N: 1},
		{Kind: OutScenario},
		{Kind: OutProbe, Name: "p"},
		{Kind: OutAnswer},
		{Kind: OutInstances},
		{Kind: OutFinished, Name: "x"},
		{Kind: "no such kind"},
		{Kind: OutScenario, Scenario: &ScenarioHead{Name: "s"}, N: -5, Total: -1},
		{Kind: OutStep, N: 1},
		{Kind: OutProbe, Probe: &ProbeVerdict{Name: "p", Tallies: map[string]Tally{"not a variant": {}}}},
		{Kind: OutFinished, Name: "other", Report: &ScenarioReport{Name: "other"}},
	})
	if c.started != 1 || c.steps != 1 || c.probes != 1 || c.finished != 1 || c.answers != 0 {
		t.Errorf("told %+v, want one scenario, step, probe and end", *c)
	}
}
