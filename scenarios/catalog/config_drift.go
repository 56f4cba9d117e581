package catalog

import (
	"fmt"
	"slices"
	"strings"

	"statelab"

	"statelab/lb"
	"statelab/scenarios"
)

var claimAnyServer = scenarios.Claim{Source: "004", Row: "How REST APIs use statelessness",
	Text: "The server verifies the token cryptographically without consulting any session store. Any server instance that knows the signing key can verify any token."}

const driftSecret = "statelab-drifted-secret-0123456789"

// configDrift: instance 2 of each variant runs with another signing key.
var configDrift = &scenarios.Scenario{
	Name:    "config-drift",
	Summary: "one instance of each variant runs with a different signing key: about a third of requests rejected",
	Setup:   "memory sticky, redis and jwt round-robin; instance 2 of each variant given another key, then fixed",
	Claims:  []scenarios.Claim{claimAnyServer, claimAuth},
	Steps: []scenarios.Step{
		{
			Title: "route memory with affinity, redis and jwt round-robin",
			Why:   "Memory cannot work without affinity; redis and jwt can go anywhere, and here they do.",
			Run: func(r *scenarios.Run) error {
				if err := r.SetPolicyFor(statelab.Memory, lb.Sticky); err != nil {
					return err
				}
				return nil // redis and jwt are round-robin after the reset
			},
		},
		fill(),
		probe("before the drift", 1, "check that every user is served", "A baseline, and where each memory user is pinned."),
		{
			Title: "give memory-2, redis-2 and jwt-2 a different signing key",
			Why: "A deploy that read the wrong secret, a stale environment file, a half-finished rotation: one instance disagrees with the others about the key. " +
				"The jwt key keeps its id, with another secret.",
			Run: func(r *scenarios.Run) error {
				var h statelab.Body
				if err := r.InstanceGet(r.RT.Instances(statelab.JWT)[0], "/healthz", &h); err != nil {
					return err
				}
				kid := h.SigningKey
				keys := statelab.Keys{Cookie: [][]byte{[]byte(driftSecret)}, JWT: []statelab.Key{{ID: kid, Secret: []byte(driftSecret)}}}
				if err := r.SetKeys(keys, "memory-2", "redis-2", "jwt-2"); err != nil {
					return err
				}
				r.Note("memory-2, redis-2 and jwt-2 reloaded another secret (jwt key id %q kept)", kid)
				return nil
			},
		},
		probe("with instance 2 drifted", 6, "ask every user who it is, six times", "Credentials were signed by the instances that agree; one instance of three now disagrees."),
		{
			Title: "fix the drift",
			Why:   "Instance 2 of each variant reloads the shared key.",
			Run: func(r *scenarios.Run) error {
				if err := r.SetKeys(statelab.Keys{}, "memory-2", "redis-2", "jwt-2"); err != nil {
					return err
				}
				r.Note("memory-2, redis-2 and jwt-2 back on the shared key")
				return nil
			},
		},
		probe("after fixing the drift", 3, "ask every user who it is, three times", "Same users, same credentials."),
	},
	Expect: []scenarios.Expectation{
		rejectsOnlyOn(statelab.JWT, 2, "with instance 2 drifted"),
		rejectsOnlyOn(statelab.Redis, 2, "with instance 2 drifted"),
		losesThoseOn(statelab.Memory, 2, "before the drift", "with instance 2 drifted"),
		keepsAll(statelab.Memory, "after fixing the drift"),
		keepsAll(statelab.Redis, "after fixing the drift"),
		keepsAll(statelab.JWT, "after fixing the drift"),
	},
	Verdict: "with instance 2 drifted",
	Lesson: func(res *scenarios.Result) string {
		v := res.Verdict("with instance 2 drifted")
		return fmt.Sprintf("one instance with another key rejected %d of %d jwt requests (%s) and %d of %d redis requests: exactly those it answered. "+
			"Stateless servers share no session, but they still share configuration: every instance must agree on the key. Fixing it brought everyone back, "+
			"since nothing was lost, only refused.",
			v.Failed[statelab.JWT], v.Requests[statelab.JWT], pct(v.Failed[statelab.JWT], v.Requests[statelab.JWT]), v.Failed[statelab.Redis], v.Requests[statelab.Redis])
	},
}

func pct(n, of int) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// rejectsOnlyOn expects every request answered by instance n to fail, every
// other one to succeed, and the failures to be between a sixth and a half.
func rejectsOnlyOn(v statelab.Variant, n int, verdict string) scenarios.Expectation {
	instance := fmt.Sprintf("%s-%d", v, n)
	return scenarios.Expectation{Variant: v, Text: "rejects exactly the requests " + instance + " answers, about a third" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(verdict)
		holds := vd.Requests[v] > 0
		var parts []string
		for in, c := range vd.ByInstance[v] {
			holds = holds && (in == instance) == (c[1] == c[0]) && (in == instance || c[1] == 0)
			parts = append(parts, fmt.Sprintf("%s %d/%d", in, c[1], c[0]))
		}
		frac := float64(vd.Failed[v]) / float64(max(vd.Requests[v], 1))
		holds = holds && frac > 1.0/6 && frac < 0.5
		return holds, fmt.Sprintf("%d of %d rejected (%s); rejected/answered by instance: %s", vd.Failed[v], vd.Requests[v], pct(vd.Failed[v], vd.Requests[v]), strings.Join(slices.Sorted(slices.Values(parts)), ", "))
	}}
}
