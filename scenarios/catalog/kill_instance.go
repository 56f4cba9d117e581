package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
)

// killInstance: one instance of each variant dies with SIGKILL under sticky
// routing; the memory variant loses exactly the users pinned to it.
var killInstance = &scenarios.Scenario{
	Name:    "kill-instance",
	Summary: "sticky routing, one instance of each variant SIGKILLed: memory loses the users pinned to it",
	Setup:   "sticky routing; one instance of each variant is SIGKILLed",
	Claims:  []scenarios.Claim{claimFaultTolerance, claimSticky},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("before the kill", 1, "check that every user is served",
			"A baseline, and a record of which instance each user is pinned to."),
		{
			Title: "kill memory-2, redis-2, jwt-2 with SIGKILL",
			Why:   "SIGKILL gives a process no chance to finish anything: its memory is gone at once. The balancer must notice, by a failed request or a failed health check.",
			Run:   func(r *scenarios.Run) error { return r.End(2, false) },
		},
		probe("after the kill", 2, "ask every user who it is, twice",
			"Users pinned to a dead instance are re-pinned to a live one. What they find there depends on where their session was."),
	},
	Expect: []scenarios.Expectation{
		losesThoseOn(statelab.Memory, 2, "before the kill", "after the kill"),
		keepsAll(statelab.Redis, "after the kill"),
		keepsAll(statelab.JWT, "after the kill"),
	},
	Lesson: func(res *scenarios.Result) string {
		lost, users := lostOf(res, "after the kill", statelab.Memory)
		return fmt.Sprintf("memory kept its sessions inside memory-2; they died with it: %d of %d users must log in again, and the others never noticed. "+
			"The users pinned to redis-2 and jwt-2 were re-pinned too, and kept: their sessions were not in the process that died.", lost, users)
	},
}
