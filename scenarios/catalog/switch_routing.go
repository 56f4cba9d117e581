package catalog

import (
	"fmt"
	"strings"

	"statelab"

	"statelab/lb"
	"statelab/scenarios"
)

// switchRouting: sticky routing is switched to round-robin mid-session; the
// memory users flap between kept and lost, and end up lost.
var switchRouting = &scenarios.Scenario{
	Name:    "switch-routing",
	Summary: "sticky switched to round-robin mid-session: memory users flap between kept and lost",
	Setup:   "sticky routing, switched to round-robin while users are logged in",
	Claims:  []scenarios.Claim{claimSticky, claimScalability},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("with affinity", 1, "check that every user is served", "A baseline."),
		{
			Title: "switch every pool to round-robin",
			Why:   "An operator changes the balancer's policy, for better spread, during the day. Nothing restarts; only the routing changes.",
			Run:   func(r *scenarios.Run) error { return r.SetPolicy(lb.RoundRobin, false) },
		},
		{
			Title: "ask every user who it is, six times",
			Why:   "Each request now goes to the next instance. The memory variant's sessions are where they were.",
			Run: func(r *scenarios.Run) error {
				v, err := r.Probe("after the switch", 6)
				if err != nil {
					return err
				}
				if f := v.Flapped(statelab.Memory); len(f) > 0 {
					r.Note("memory: %d users flapped, e.g. %s: %s", len(f), f[0], sequence(v.Sequence[statelab.Memory][f[0]]))
				}
				return nil
			},
		},
	},
	Expect: []scenarios.Expectation{
		flaps(statelab.Memory, "after the switch"),
		losesMost(statelab.Memory, "after the switch"),
		keepsAll(statelab.Redis, "after the switch"),
		keepsAll(statelab.JWT, "after the switch"),
	},
	Lesson: func(res *scenarios.Result) string {
		v := res.Verdict("after the switch")
		return fmt.Sprintf("one policy switch, and %d of %d memory users went from served to refused and back, request by request: "+
			"their session answers only on one instance in three. Such bugs look random; they are not. Redis and jwt did not notice the switch.",
			len(v.Flapped(statelab.Memory)), v.Tallies[statelab.Memory].Users)
	},
}

func sequence(os []scenarios.Outcome) string {
	var parts []string
	for _, o := range os {
		parts = append(parts, strings.ReplaceAll(string(o), "_session", ""))
	}
	return strings.Join(parts, ", ")
}

func flaps(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "flaps: users served, refused, then served again" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(verdict)
		f := vd.Flapped(v)
		return len(f) > 0, fmt.Sprintf("%d of %d users flapped", len(f), vd.Tallies[v].Users)
	}}
}
