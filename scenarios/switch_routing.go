package scenarios

import (
	"fmt"
	"strings"

	"statelab/lb"
	"statelab/servers"
)

// switchRouting: sticky routing is switched to round-robin mid-session; the
// memory users flap between kept and lost, and end up lost.
var switchRouting = &Scenario{
	Name:    "switch-routing",
	Summary: "sticky switched to round-robin mid-session: memory users flap between kept and lost",
	Setup:   "sticky routing, switched to round-robin while users are logged in",
	Claims:  []Claim{claimSticky, claimScalability},
	Steps: []Step{
		stickyStep(),
		fill(),
		probe("with affinity", 1, "check that every user is served", "A baseline."),
		{
			Title: "switch every pool to round-robin",
			Why:   "An operator changes the balancer's policy, for better spread, during the day. Nothing restarts; only the routing changes.",
			Run:   func(r *Run) error { return r.SetPolicy(lb.RoundRobin, false) },
		},
		{
			Title: "ask every user who it is, six times",
			Why:   "Each request now goes to the next instance. The memory variant's sessions are where they were.",
			Run: func(r *Run) error {
				v, err := r.Probe("after the switch", 6)
				if err != nil {
					return err
				}
				if f := v.Flapped(servers.Memory); len(f) > 0 {
					r.Note("memory: %d users flapped, e.g. %s: %s", len(f), f[0], sequence(v.Sequence[servers.Memory][f[0]]))
				}
				return nil
			},
		},
	},
	Expect: []Expectation{
		flaps(servers.Memory, "after the switch"),
		losesMost(servers.Memory, "after the switch"),
		keepsAll(servers.Redis, "after the switch"),
		keepsAll(servers.JWT, "after the switch"),
	},
	Lesson: func(res *Result) string {
		v := res.Verdict("after the switch")
		return fmt.Sprintf("one policy switch, and %d of %d memory users went from served to refused and back, request by request: "+
			"their session answers only on one instance in three. Such bugs look random; they are not. Redis and jwt did not notice the switch.",
			len(v.Flapped(servers.Memory)), v.Tallies[servers.Memory].Users)
	},
}

func sequence(os []Outcome) string {
	var parts []string
	for _, o := range os {
		parts = append(parts, strings.ReplaceAll(string(o), "_session", ""))
	}
	return strings.Join(parts, ", ")
}

func flaps(v servers.Variant, verdict string) Expectation {
	return Expectation{Variant: v, Text: "flaps: users served, refused, then served again" + at(verdict), Check: func(res *Result) (bool, string) {
		vd := res.Verdict(verdict)
		f := vd.Flapped(v)
		return len(f) > 0, fmt.Sprintf("%d of %d users flapped", len(f), vd.Tallies[v].Users)
	}}
}
