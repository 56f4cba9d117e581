package catalog

import (
	"fmt"
	"slices"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/scenarios"
)

// strictAffinity: kill-instance again, with the balancer's strict
// affinity: a user pinned to a dead instance gets 503 rather than a new
// instance.
var strictAffinity = &scenarios.Scenario{
	Name:    "strict-affinity",
	Summary: "kill-instance with strict affinity: every user pinned to a dead instance gets 503 instead of a new one, whatever its variant",
	Setup:   "sticky routing, strict (503, never re-pin); one instance of each variant is SIGKILLed, then started again",
	Claims:  []scenarios.Claim{claimSticky, claimFaultTolerance},
	Steps: []scenarios.Step{
		{
			Title: "turn on strict sticky routing",
			Why:   "The balancer pins each user to one instance, and answers 503 rather than move a user whose instance is down (lab lb --strict).",
			Run:   func(r *scenarios.Run) error { return r.SetPolicy(api.Sticky, true) },
		},
		vocab.Fill(),
		vocab.Probe("before the kill", 1, "check that every user is served", "A baseline, and which instance each user is pinned to."),
		{
			Title: "kill " + instanceNames(2) + " (SIGKILL)",
			Why:   "The same kill as kill-instance.",
			Run:   func(r *scenarios.Run) error { return r.End(2, false) },
		},
		vocab.Probe("after the kill, strict", 2, "ask every user who it is, twice",
			"Nobody is re-pinned: a user whose instance is down waits for it."),
		{
			Title: "start " + instanceNames(2) + " again",
			Why:   "The pinned users' instance is back: as a new process.",
			Run:   func(r *scenarios.Run) error { return r.Restart(2) },
		},
		vocab.Probe("after instance 2 is back", 1, "ask every user who it is", "The pinned users reach their instance again. What does it still have?"),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		out := []scenarios.Expectation{unavailableIfPinnedTo(d.Variant, instance(d, 2))}
		if d.DiesWithProcess() {
			return append(out, vocab.HeldBy(d.Variant, instance(d, 2), "after instance 2 is back", scenarios.Lost))
		}
		return append(out, vocab.KeepsAll(d.Variant, "after instance 2 is back"))
	},
	Verdict:    "after the kill, strict",
	Highlights: []string{"after the kill, strict", "after instance 2 is back"},
	Lesson: func(res *scenarios.Result) string {
		down := perVariant(statelab.Variants, func(v statelab.Variant) int {
			n, _ := users(res, "after the kill, strict", v, scenarios.Unavailable)
			return n
		})
		_, of := users(res, "after the kill, strict", inProcess, scenarios.Kept)
		lost, _ := users(res, "after instance 2 is back", inProcess, scenarios.Lost)
		others := notMemory()
		return fmt.Sprintf("Strict affinity turned the kill into an outage for every user pinned to instance 2: %s users of %d each got 503 until it came back. "+
			"For memory it bought nothing: the restarted memory-2 is a new process, and %s lost their session all the same; the %s users, whose sessions were never in the process, "+
			"were refused service they could have had from any other instance. Re-pinning (kill-instance) lets a memory user log in again at once instead of waiting on an error, which is why balancers re-pin by default. "+
			"Strict can only pay when an instance comes back with its state (a pause rather than a crash, which this lab does not show).",
			down, of, scenarios.Plural(lost, "user"), variantNames(others))
	},
}

// unavailableIfPinnedTo: after the kill, exactly the users the first probe
// found on instance got 503s (from the balancer, which would not re-pin
// them); every other user was kept.
func unavailableIfPinnedTo(v statelab.Variant, instance string) scenarios.Expectation {
	const before, after = "before the kill", "after the kill, strict"
	return scenarios.Expectation{Variant: v, Text: "answers 503 to exactly the users pinned to " + instance + ", keeps the others" + vocab.At(after), Check: func(res *scenarios.Result) (bool, string) {
		pinned := res.Verdict(before).UsersOn(v, instance)
		down := res.Verdict(after).UsersWith(v, scenarios.Unavailable)
		slices.Sort(pinned)
		t := res.Verdict(after).Tallies[v]
		holds := len(pinned) > 0 && slices.Equal(pinned, down) && t.Of(scenarios.Kept) == t.Users-len(down)
		return holds, fmt.Sprintf("%d of %d users were pinned to %s; %d got 503, %d kept", len(pinned), t.Users, instance, len(down), t.Of(scenarios.Kept))
	}}
}
