package catalog

import (
	"fmt"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

const driftSecret = "statelab-drifted-secret-0123456789"

// configDrift: instance 2 of each variant runs with another signing key.
var configDrift = &scenarios.Scenario{
	Name:    "config-drift",
	Summary: "one instance of each variant runs with another signing key: exactly the requests it answers are refused",
	Setup:   "memory sticky, redis, jwt and cookie round-robin; instance 2 of each variant given another key, then fixed",
	Claims:  []scenarios.Claim{claimAnyServer, claimAuth},
	Needs:   []lab.Capability{lab.ReloadKeys},
	Steps: []scenarios.Step{
		{
			Title: "route memory with affinity, redis, jwt and cookie round-robin",
			Why:   "Memory needs affinity; redis, jwt and cookie can go anywhere.",
			Run: func(r *scenarios.Run) error {
				return r.SetPolicyFor(inProcess, api.Sticky) // the others are round-robin after the reset
			},
		},
		vocab.Fill(),
		vocab.Probe("before the drift", 1, "check that every user is served", "A baseline, and where each memory user is pinned."),
		{
			Title: "give " + instanceNames(2) + " a different signing key",
			Why:   "A deploy that read the wrong secret, a stale environment file: one instance disagrees about the key. The jwt key keeps its id, with another secret.",
			Run: func(r *scenarios.Run) error {
				var h statelab.Body
				if err := r.InstanceGet(r.RT.Instances(inToken)[0], "/healthz", &h); err != nil {
					return err
				}
				keys := statelab.Keys{Cookie: [][]byte{[]byte(driftSecret)}, JWT: []statelab.Key{{ID: h.SigningKey, Secret: []byte(driftSecret)}}}
				r.Fault()
				if err := r.SetKeys(keys, r.Instance(2)...); err != nil {
					return err
				}
				r.Note("%s reloaded another secret (jwt key id %q kept)", instanceNames(2), h.SigningKey)
				return nil
			},
		},
		vocab.Probe("with instance 2 drifted", 6, "ask every user who it is, six times", "One instance of three now disagrees about the key."),
		{
			Title: "fix the drift",
			Why:   "Instance 2 of each variant reloads the shared key.",
			Run: func(r *scenarios.Run) error {
				if err := r.SetKeys(statelab.Keys{}, r.Instance(2)...); err != nil {
					return err
				}
				r.Fixed()
				r.Detail("%s back on the shared key", instanceNames(2))
				return nil
			},
		},
		vocab.Probe("after fixing the drift", 3, "ask every user who it is, three times", "Same users, same credentials."),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		// Every variant reads its credential with the keys in force: the
		// drifted instance refuses what the others issued, whatever the home.
		return []scenarios.Expectation{
			vocab.RefusesOnlyOn(d.Variant, instance(d, 2), "with instance 2 drifted"),
			vocab.KeepsAll(d.Variant, "after fixing the drift"),
		}
	},
	Verdict:    "with instance 2 drifted",
	Highlights: []string{"with instance 2 drifted", "after fixing the drift"},
	Lesson: func(res *scenarios.Result) string {
		jwtAll, jwtBad := requests(res, "with instance 2 drifted", inToken)
		redisAll, redisBad := requests(res, "with instance 2 drifted", inStore)
		cookieAll, cookieBad := requests(res, "with instance 2 drifted", inCookie)
		memRefused, of := users(res, "with instance 2 drifted", inProcess, scenarios.Refused)
		after := fmt.Sprintf("After the fix, not every user was served again (see the table)")
		if allKept(res, "after fixing the drift", statelab.Variants...) {
			kept, _ := users(res, "after fixing the drift", inToken, scenarios.Kept)
			after = fmt.Sprintf("After the fix every variant served %d of %d users again: nothing had been lost, only refused", kept, of)
		}
		return fmt.Sprintf("One instance with another key refused exactly the requests it answered: %d of %d jwt requests, %d of %d cookie requests, %d of %d redis requests, "+
			"every request of the %d of %d memory users pinned to it. jwt and cookie instances share no session, redis instances share every one, "+
			"yet all must agree on the key: configuration is state too. %s.",
			jwtBad, jwtAll, cookieBad, cookieAll, redisBad, redisAll, memRefused, of, after)
	},
}
