package report

import (
	"slices"
	"testing"

	"statelab/scenarios"
)

// TestChartStepNumbers: step numbers too close to share a row go to the
// second; one too close to the last of both rows is named with the last
// of the second, never drawn over another.
func TestChartStepNumbers(t *testing.T) {
	s := &scenarios.ScenarioReport{
		Name:     "steps",
		Seconds:  10,
		Steps:    make([]scenarios.StepReport, 6),
		Requests: []scenarios.Request{{T: 1, Variant: "jwt", User: "u", Method: "GET", Path: "/me", Status: 200, Instance: "jwt-1"}},
	}
	// At 85.6 chart units a second: 3 is 4 units after 2, 4 and 5 within
	// 14 of both rows' last, 6 far from all.
	tl := told{steps: map[int]float64{1: 0, 2: 5, 3: 5.05, 4: 5.1, 5: 5.12, 6: 9}}
	c := chart(s, tl)
	var labels []string
	for _, st := range c.Steps {
		labels = append(labels, st.Label)
	}
	if want := []string{"1", "2", "3,4,5", "6"}; !slices.Equal(labels, want) {
		t.Errorf("step numbers %q, want %q", labels, want)
	}
	for i, a := range c.Steps {
		for _, b := range c.Steps[i+1:] {
			if a.Y == b.Y && b.X-a.X < stepGap {
				t.Errorf("steps %s and %s overlap on one row (%.1f apart)", a.Label, b.Label, b.X-a.X)
			}
		}
	}
}
