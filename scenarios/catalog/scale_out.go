package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
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
		stickyStep(),
		fill(),
		{
			Title: "add memory-4, redis-4 and jwt-4 to their pools",
			Why:   "More capacity. Sticky users keep their cookie: they stay put.",
			Run: func(r *scenarios.Run) error {
				if err := r.AddInstances(4); err != nil {
					return err
				}
				v, err := r.Probe("after adding the fourth instance", 1)
				if err != nil {
					return err
				}
				r.Fact("users on memory-4 after adding it", len(v.UsersOn(statelab.Memory, "memory-4")))
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
				r.Fact("memory spread after the reset", v.Spread(statelab.Memory))
				return nil
			},
		},
	},
	Expect: []scenarios.Expectation{
		keepsAll(statelab.Memory, "after adding the fourth instance"),
		refusesElsewhere(statelab.Memory, "after the affinity reset"),
		keepsAll(statelab.Redis, "after the affinity reset"),
		keepsAll(statelab.JWT, "after the affinity reset"),
	},
	Verdict:    "after the affinity reset",
	Highlights: []string{"after adding the fourth instance", "after the affinity reset"},
	Lesson: func(res *scenarios.Result) string {
		kept, of := users(res, "after adding the fourth instance", statelab.Memory, scenarios.Kept)
		refused, _ := users(res, "after the affinity reset", statelab.Memory, scenarios.Refused)
		return fmt.Sprintf("Adding memory-4 moved nobody: %d of %d memory users were kept, %d on memory-4, which relieved no one. "+
			"Resetting affinity did move users, as a replaced balancer would: %d of %d memory users reached an instance without their session (%s) and were refused, "+
			"their sessions out of reach on the old one. Redis and jwt users moved as much; %s: with sessions in one process, moving users is a migration.",
			kept, of, res.Int("users on memory-4 after adding it"), refused, of, res.Facts["memory spread after the reset"], keptWords(res, "after the affinity reset"))
	},
}
