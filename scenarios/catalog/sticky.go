package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// sticky: cookie affinity makes the memory variant work, while nothing fails.
var sticky = &scenarios.Scenario{
	Name:    "sticky",
	Summary: "cookie affinity on: the memory variant works, as long as nothing fails",
	Setup:   "sticky routing; nothing fails",
	Claims:  []scenarios.Claim{claimScalability, claimSticky},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		{
			Title: "ask every user who it is, three times",
			Why:   "Each user's requests now all go to the instance it is pinned to.",
			Run: func(r *scenarios.Run) error {
				v, err := r.Probe("with affinity", 3)
				if err != nil {
					return err
				}
				r.Fact("memory spread", v.Spread(inProcess))
				return nil
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "with affinity")}
	},
	Verdict: "with affinity",
	Lesson: func(res *scenarios.Result) string {
		kept, of := users(res, "with affinity", inProcess, scenarios.Kept)
		return fmt.Sprintf("With affinity, memory kept %d of %d users: each user's requests all went to the one instance holding its session (%s). "+
			"That holds while nothing fails or moves (see kill-instance, rolling-restart, scale-out).",
			kept, of, res.Facts["memory spread"])
	},
}
