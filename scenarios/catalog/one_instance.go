package catalog

import (
	"fmt"

	"statelab"
	"statelab/internal/parallel"
	"statelab/lb/api"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// oneInstance: the small system the articles grant stateful servers: one
// instance per variant. Memory keeps every user under any policy, since
// every request reaches the only process; one restart of that process
// loses them all, while the others keep them.
var oneInstance = &scenarios.Scenario{
	Name:    "one-instance",
	Summary: "one instance per variant: memory keeps every user under any policy, until one restart loses them all",
	Setup:   "every instance but the first taken out of its pool and stopped; round-robin, then least-conn; the one instance restarted",
	Claims:  []scenarios.Claim{claimSmallSystems, claimSingleServer},
	Steps: []scenarios.Step{
		{
			Title: "take every instance but the first out of its pool, and stop it",
			Why:   "A small system: one server per variant. The balancer takes nobody to the others (disabled), and their processes end (SIGTERM).",
			Run: func(r *scenarios.Run) error {
				var others []string
				for _, v := range statelab.Variants {
					for _, name := range r.RT.Instances(v)[1:] {
						if err := r.LB.Backend(r.Context(), string(v), name, api.Disable); err != nil {
							return err
						}
						others = append(others, name)
					}
				}
				if err := parallel.Do(others, func(name string) error { return r.RT.Stop(r.Context(), name) }); err != nil {
					return err
				}
				r.Aside("lb: %d instances disabled and stopped; one left per variant", len(others))
				return nil
			},
		},
		vocab.Policy(api.RoundRobin, false),
		vocab.Fill(),
		vocab.Probe("with round-robin", 2, "ask every user who it is, twice", "Round-robin: with three instances (see round-robin) it sends memory's users to instances without their session."),
		vocab.Policy(api.LeastConn, false),
		vocab.Probe("with least-conn", 2, "ask every user who it is, twice", "The least busy instance: there is only one."),
		{
			Title: "restart instance 1 of every variant (SIGTERM, then a new process)",
			Why:   "A deploy, or a crash and a restart: the only process ends, and a new one starts that remembers nothing.",
			Run: func(r *scenarios.Run) error {
				if err := r.End(1, true); err != nil {
					return err
				}
				return r.Restart(1)
			},
		},
		vocab.Probe("after the restart", 2, "ask every user who it is, twice", "Every user's session was made by the process that just ended."),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.DiesWithProcess() {
			return []scenarios.Expectation{vocab.KeepsAll(v, "with round-robin"), vocab.KeepsAll(v, "with least-conn"), vocab.LosesAll(v, "after the restart")}
		}
		return []scenarios.Expectation{vocab.KeepsAll(v, "with round-robin"), vocab.KeepsAll(v, "with least-conn"), vocab.KeepsAll(v, "after the restart")}
	},
	Verdict:    "after the restart",
	Highlights: []string{"with round-robin", "after the restart"},
	Lesson: func(res *scenarios.Result) string {
		rr, of := users(res, "with round-robin", inProcess, scenarios.Kept)
		lc, _ := users(res, "with least-conn", inProcess, scenarios.Kept)
		lost, _ := users(res, "after the restart", inProcess, scenarios.Lost)
		return fmt.Sprintf("With one instance, memory kept %d of %d users under round-robin and %d under least-conn: every request reached the only process, "+
			"the one holding every session. That is the small system the articles grant stateful servers: simple, and it works. "+
			"One restart of that process lost %d of %d: the state was in the process, and a restart is the end of a process. "+
			"After the same restart, %s: their sessions were not in it.",
			rr, of, lc, lost, of, keptWords(res, "after the restart"))
	},
}
