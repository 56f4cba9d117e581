package catalog

import (
	"fmt"
	"slices"

	"statelab"
	"statelab/scenarios"
)

// scaleOut: a fourth instance joins each pool and affinity is reset; the
// memory users who land elsewhere are lost.
var scaleOut = &scenarios.Scenario{
	Name:    "scale-out",
	Summary: "a fourth instance joins each pool and affinity is reset: memory users who move are lost",
	Setup:   "sticky routing; a fourth instance added to each pool, then every user routed afresh",
	Claims:  []scenarios.Claim{claimScalability},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("before scaling out", 1, "check that every user is served", "A baseline, and where each user is pinned."),
		{
			Title: "start memory-4, redis-4 and jwt-4 and add them to their pools",
			Why:   "More capacity: a new process of each variant joins its pool. Nobody is pinned to it yet.",
			Run:   func(r *scenarios.Run) error { return r.AddInstances(4) },
		},
		{
			Title: "reset affinity: every user is routed afresh",
			Why: "As when the balancer is replaced, restarted with a new cookie secret, or hashes users over the new set of instances: " +
				"the users' pins are gone, and each next request goes wherever the balancer sends it among four instances.",
			Run: func(r *scenarios.Run) error { r.ForgetAffinity(); return nil },
		},
		probe("after scaling out", 2, "ask every user who it is, twice", "Each user is pinned again, perhaps to another instance than before."),
	},
	Expect: []scenarios.Expectation{
		losesThoseWhoMoved(statelab.Memory, "before scaling out", "after scaling out"),
		keepsAll(statelab.Redis, "after scaling out"),
		keepsAll(statelab.JWT, "after scaling out"),
	},
	Lesson: func(res *scenarios.Result) string {
		moved := movedUsers(res, statelab.Memory, "before scaling out", "after scaling out")
		after := res.Verdict("after scaling out")
		return fmt.Sprintf("adding capacity moved %d of %d memory users to another instance (now %s), and every one of them lost its session: "+
			"with sessions in process memory, scaling is a migration. Redis and jwt users moved just as much and noticed nothing: any instance can serve any of them.",
			len(moved), after.Tallies[statelab.Memory].Users, after.Spread(statelab.Memory))
	},
}

func movedUsers(res *scenarios.Result, v statelab.Variant, before, after string) []string {
	b, a := res.Verdict(before).Instance[v], res.Verdict(after).Instance[v]
	var out []string
	for u, in := range a {
		if b[u] != in {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// losesThoseWhoMoved expects exactly the users answered by another instance
// after than before to have lost their session, and at least one to move.
func losesThoseWhoMoved(v statelab.Variant, before, after string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "loses exactly the users who moved to another instance" + at(after), Check: func(res *scenarios.Result) (bool, string) {
		moved := movedUsers(res, v, before, after)
		lost := res.Verdict(after).UsersWith(v, scenarios.LostSession)
		t := res.Verdict(after).Tallies[v]
		return len(moved) > 0 && slices.Equal(moved, lost) && t.Kept == t.Users-len(lost),
			fmt.Sprintf("%d of %d moved, %d lost, %d kept", len(moved), t.Users, len(lost), t.Kept)
	}}
}
