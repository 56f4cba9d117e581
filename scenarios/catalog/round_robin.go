package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
)

// roundRobin: no affinity, nothing fails. The memory variant forgets a user
// whenever a request lands on another instance than the one that logged it in.
var roundRobin = &scenarios.Scenario{
	Name:    "round-robin",
	Summary: "three instances, no affinity: the memory variant forgets users whenever a request lands elsewhere",
	Setup:   "round-robin routing; nothing fails",
	Claims:  []scenarios.Claim{claimMemory, claimScalability},
	Steps: []scenarios.Step{
		fill(),
		probe("after three more requests", 3, "ask every user who it is, three times",
			"Round-robin sends each request to the next instance. Nothing fails: the only question is which instance remembers the user."),
	},
	Expect: []scenarios.Expectation{
		losesMost(statelab.Memory, ""),
		keepsAll(statelab.Redis, ""),
		keepsAll(statelab.JWT, ""),
	},
	Lesson: func(res *scenarios.Result) string {
		vd := res.Verdict("")
		lost, users := lostOf(res, "", statelab.Memory)
		return fmt.Sprintf("nothing failed, yet the memory variant lost %d of %d users: %d of %d requests landed on an instance that had never seen the session. "+
			"Redis and jwt kept everyone, because any instance could answer: the session was in the shared Redis, or in the request itself.",
			lost, users, vd.Failed[statelab.Memory], vd.Requests[statelab.Memory])
	},
}
