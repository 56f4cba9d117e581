package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// roundRobin: no affinity, nothing fails. The memory variant refuses a user
// whenever a request lands on another instance than the one holding its
// session.
var roundRobin = &scenarios.Scenario{
	Name:    "round-robin",
	Summary: "three instances, no affinity: the memory variant refuses every request that lands on an instance without the session",
	Setup:   "round-robin routing; nothing fails",
	Claims:  []scenarios.Claim{claimMemory, claimScalability},
	Steps: []scenarios.Step{
		vocab.Fill(),
		vocab.Probe("after three more requests", 3, "ask every user who it is, three times",
			"Each request goes to the next instance: which one has the session?"),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		if d.Shared() {
			return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "after three more requests")}
		}
		return []scenarios.Expectation{vocab.RefusesElsewhere(d.Variant, "after three more requests")}
	},
	Verdict: "after three more requests",
	Lesson: func(res *scenarios.Result) string {
		all, bad := requests(res, "after three more requests", inProcess)
		refused, of := users(res, "after three more requests", inProcess, scenarios.Refused)
		return fmt.Sprintf("Nothing failed, yet %d of %d memory requests were refused, exactly those that reached an instance without the user's session: "+
			"%d of %d users were refused at least once, though no session was destroyed: each still existed on the instance that created it. "+
			"%s: any instance could answer, the session being in the shared Redis or in the request.",
			bad, all, refused, of, capital(keptWords(res, "after three more requests")))
	},
}
