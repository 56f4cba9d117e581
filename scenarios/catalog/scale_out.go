package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// scaleOut: a fourth instance joins each pool: sticky users stay where they
// are. Then affinity is reset, and the memory users who land elsewhere are
// refused.
var scaleOut = &scenarios.Scenario{
	Name:    "scale-out",
	Summary: "a fourth instance joins each pool (nobody moves), then affinity is reset: memory refuses the users who move",
	Setup:   "sticky routing; a fourth instance added to each pool, then every user routed afresh",
	Claims:  []scenarios.Claim{claimScalability},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		{
			Title: "add " + instanceNames(4) + " to their pools",
			Why:   "More capacity. Sticky users keep their cookie: they stay put.",
			Run: func(r *scenarios.Run) error {
				if err := r.AddInstances(4); err != nil {
					return err
				}
				v, err := r.Probe("after adding the fourth instance", 1)
				if err != nil {
					return err
				}
				r.Fact("users on memory-4 after adding it", len(v.UsersOn(inProcess, inProcess.Instance(4))))
				return nil
			},
		},
		{
			Title: "reset affinity: every user is routed afresh",
			Why:   "As a replaced balancer would: pins are gone.",
			Run:   func(r *scenarios.Run) error { r.Fault(); r.ForgetAffinity(); return nil },
		},
		{
			Title: "ask every user who it is, twice",
			Why:   "Each user is pinned again, maybe away from its session.",
			Run: func(r *scenarios.Run) error {
				v, err := r.Probe("after the affinity reset", 2)
				if err != nil {
					return err
				}
				before := r.Result().Verdict("after adding the fourth instance")
				r.Fact("memory refused users landed on", v.SpreadOf(inProcess, v.UsersWith(inProcess, scenarios.Refused)))
				for _, va := range statelab.Variants {
					moved := 0
					for u, in := range v.Instance[va] {
						if before.Instance[va][u] != in {
							moved++
						}
					}
					r.Fact("users moved by the reset: "+string(va), moved)
				}
				return nil
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		if d.Shared() {
			return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "after the affinity reset")}
		}
		return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "after adding the fourth instance"), vocab.RefusesElsewhere(d.Variant, "after the affinity reset")}
	},
	Verdict:    "after the affinity reset",
	Highlights: []string{"after adding the fourth instance", "after the affinity reset"},
	Lesson: func(res *scenarios.Result) string {
		kept, of := users(res, "after adding the fourth instance", inProcess, scenarios.Kept)
		refused, _ := users(res, "after the affinity reset", inProcess, scenarios.Refused)
		others := notMemory()
		moved := perVariant(others, func(v statelab.Variant) int { return res.Int("users moved by the reset: " + string(v)) })
		return fmt.Sprintf("Adding memory-4 moved nobody: %d of %d memory users were kept, %d on memory-4, which relieved no one. "+
			"Resetting affinity did move users, as a replaced balancer would: %d of %d memory users landed on an instance without their session (%s) and were refused, "+
			"their sessions out of reach on the old one. %s users moved too, and %s. For memory, moving a user means moving its session.",
			kept, of, res.Int("users on memory-4 after adding it"), refused, of, res.Facts["memory refused users landed on"],
			moved, keptWords(res, "after the affinity reset"))
	},
}
