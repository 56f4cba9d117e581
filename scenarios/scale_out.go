package scenarios

import (
	"fmt"
	"slices"

	"statelab/servers"
)

// scaleOut: a fourth instance joins each pool and affinity is reset; the
// memory users who land elsewhere are lost.
var scaleOut = &Scenario{
	Name:    "scale-out",
	Summary: "a fourth instance joins each pool and affinity is reset: memory users who move are lost",
	Setup:   "sticky routing; a fourth instance added to each pool, then every user routed afresh",
	Claims:  []Claim{claimScalability},
	Steps: []Step{
		stickyStep(),
		fill(),
		probe("before scaling out", 1, "check that every user is served", "A baseline, and where each user is pinned."),
		{
			Title: "start memory-4, redis-4 and jwt-4 and add them to their pools",
			Why:   "More capacity: a new process of each variant joins its pool. Nobody is pinned to it yet.",
			Run:   func(r *Run) error { return r.AddInstances(4) },
		},
		{
			Title: "reset affinity: every user is routed afresh",
			Why: "As when the balancer is replaced, restarted with a new cookie secret, or hashes users over the new set of instances: " +
				"the users' pins are gone, and each next request goes wherever the balancer sends it among four instances.",
			Run: func(r *Run) error { r.ForgetAffinity(); return nil },
		},
		probe("after scaling out", 2, "ask every user who it is, twice", "Each user is pinned again, perhaps to another instance than before."),
	},
	Expect: []Expectation{
		losesThoseWhoMoved(servers.Memory, "before scaling out", "after scaling out"),
		keepsAll(servers.Redis, "after scaling out"),
		keepsAll(servers.JWT, "after scaling out"),
	},
	Lesson: func(res *Result) string {
		moved := movedUsers(res, servers.Memory, "before scaling out", "after scaling out")
		after := res.Verdict("after scaling out")
		return fmt.Sprintf("adding capacity moved %d of %d memory users to another instance (now %s), and every one of them lost its session: "+
			"with sessions in process memory, scaling is a migration. Redis and jwt users moved just as much and noticed nothing: any instance can serve any of them.",
			len(moved), after.Tallies[servers.Memory].Users, after.Spread(servers.Memory))
	},
}

func movedUsers(res *Result, v servers.Variant, before, after string) []string {
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
func losesThoseWhoMoved(v servers.Variant, before, after string) Expectation {
	return Expectation{Variant: v, Text: "loses exactly the users who moved to another instance" + at(after), Check: func(res *Result) (bool, string) {
		moved := movedUsers(res, v, before, after)
		lost := res.Verdict(after).UsersWith(v, LostSession)
		t := res.Verdict(after).Tallies[v]
		return len(moved) > 0 && slices.Equal(moved, lost) && t.Kept == t.Users-len(lost),
			fmt.Sprintf("%d of %d moved, %d lost, %d kept", len(moved), t.Users, len(lost), t.Kept)
	}}
}
