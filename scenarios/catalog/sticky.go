package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
)

// sticky: cookie affinity makes the memory variant work, while nothing fails.
var sticky = &scenarios.Scenario{
	Name:    "sticky",
	Summary: "cookie affinity on: the memory variant works, as long as nothing fails",
	Setup:   "sticky routing; nothing fails",
	Claims:  []scenarios.Claim{claimScalability, claimSticky},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("with affinity", 3, "ask every user who it is, three times",
			"Each user's requests now all go to the instance it is pinned to."),
	},
	Expect: []scenarios.Expectation{
		keepsAll(statelab.Memory, ""),
		keepsAll(statelab.Redis, ""),
		keepsAll(statelab.JWT, ""),
	},
	Lesson: func(res *scenarios.Result) string {
		return fmt.Sprintf("with affinity every variant keeps every user; memory users are spread %s, each bound to the one instance that holds its session. "+
			"That holds only while nothing fails or moves: see kill-instance, rolling-restart and scale-out.",
			res.Verdict("").Spread(statelab.Memory))
	},
}
