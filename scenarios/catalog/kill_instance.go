package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// killInstance: one instance of each variant dies with SIGKILL under sticky
// routing; the memory variant loses exactly the users whose session it held.
var killInstance = &scenarios.Scenario{
	Name:    "kill-instance",
	Summary: "sticky routing, one instance of each variant SIGKILLed: memory loses the users whose session it held",
	Setup:   "sticky routing; one instance of each variant is SIGKILLed",
	Claims:  []scenarios.Claim{claimFaultTolerance, claimSticky},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		vocab.Probe("before the kill", 1, "check that every user is served",
			"A baseline, and a record of which instance each user is pinned to."),
		{
			Title: "kill " + instanceNames(2) + " (SIGKILL)",
			Why:   "Each process ends at once, its memory with it; no request finishes. The balancer must notice.",
			Run:   func(r *scenarios.Run) error { return r.End(2, false) },
		},
		vocab.Probe("after the kill", 2, "ask every user who it is, twice",
			"Users of dead instances are re-pinned. Is their session where they land?"),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		if d.Shared() {
			return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "after the kill")}
		}
		return []scenarios.Expectation{vocab.HeldBy(d.Variant, instance(d, 2), "after the kill", scenarios.Lost)}
	},
	Verdict: "after the kill",
	Lesson: func(res *scenarios.Result) string {
		lost, of := users(res, "after the kill", inProcess, scenarios.Lost)
		kept, _ := users(res, "after the kill", inProcess, scenarios.Kept)
		after := res.Verdict("after the kill")
		others := notMemory()
		return fmt.Sprintf("memory-2 held the sessions of %d of %d memory users, and SIGKILL ended them with the process: those %d must log in again, the other %d never noticed. "+
			"The balancer re-pinned the users of %s too (%s); %s: their sessions were not in the process that died.",
			lost, of, lost, kept, instanceNames(2, others...), counts(others, func(v statelab.Variant) int { return after.Repinned[v] }), keptWords(res, "after the kill"))
	},
}
