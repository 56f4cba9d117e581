package catalog

import (
	"fmt"
	"strings"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/scenarios"
)

// switchRouting: sticky routing is switched to round-robin mid-session; the
// memory users are served when a request happens to reach their session's
// instance, and refused otherwise.
var switchRouting = &scenarios.Scenario{
	Name:    "switch-routing",
	Summary: "sticky switched to round-robin mid-session: memory users flap between served and refused",
	Setup:   "sticky routing, switched to round-robin while users are logged in",
	Claims:  []scenarios.Claim{claimSticky, claimScalability},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		vocab.Probe("with affinity, before the switch", 1, "check that every user is served", "A baseline."),
		{
			Title: "switch every pool to round-robin",
			Why:   "An operator wants a better spread; only the routing changes.",
			Run: func(r *scenarios.Run) error {
				r.Fault()
				return r.SetPolicy(api.RoundRobin, false)
			},
		},
		{
			Title: "ask every user who it is, six times",
			Why:   "Each request goes to the next instance; sessions stay put.",
			Run: func(r *scenarios.Run) error {
				v, err := r.Probe("after the switch", 6)
				if err != nil {
					return err
				}
				f := v.Flapped(inProcess)
				r.Fact("memory users who flapped", len(f))
				if len(f) > 0 {
					example := f[0] + ": " + sequence(v.Sequence(inProcess, f[0]))
					r.Fact("a memory user's answers", example)
					r.Detail("memory: %s flapped between served and refused, e.g. %s", scenarios.Plural(len(f), "user"), example)
				}
				return nil
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		if d.Shared() {
			return []scenarios.Expectation{vocab.KeepsAll(d.Variant, "after the switch")}
		}
		return []scenarios.Expectation{vocab.RefusesElsewhere(d.Variant, "after the switch")}
	},
	Verdict: "after the switch",
	Lesson: func(res *scenarios.Result) string {
		all, bad := requests(res, "after the switch", inProcess)
		flapped := ""
		if n := res.Int("memory users who flapped"); n > 0 {
			flapped = fmt.Sprintf("; %s went from served to refused and back (%s)", scenarios.Plural(n, "user"), res.Facts["a memory user's answers"])
		}
		return fmt.Sprintf("One policy switch, nothing restarted: %d of %d memory requests were refused, exactly those that reached an instance without the session%s. "+
			"Such failures look random; they follow the routing. %s.",
			bad, all, flapped, capital(keptWords(res, "after the switch")))
	},
}

func sequence(os []scenarios.Outcome) string {
	words := make([]string, len(os))
	for i, o := range os {
		words[i] = o.Word()
	}
	return strings.Join(words, ", ")
}
