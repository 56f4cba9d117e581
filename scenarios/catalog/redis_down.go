package catalog

import (
	"fmt"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// redisDown: Redis stops, then comes back without and with persistence; the
// redis variant is unavailable, then lost, then kept, while the others do not
// care. Failing open turns the outage into logouts.
var redisDown = &scenarios.Scenario{
	Name:    "redis-down",
	Summary: "Redis stopped, then restarted without and with persistence: the redis variant is unavailable, then loses everyone, then no one",
	Setup:   "sticky routing; Redis stopped and restarted, failing closed and open, without and with an append-only file",
	Claims:  []scenarios.Claim{claimSharedStore, claimExternalized},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		vocab.Probe("before Redis stops", 1, "check that every user is served", "A baseline."),
		{
			Title: "stop Redis (SIGTERM)",
			Why: "The redis variant's instances are fine, but the one thing they share is gone, and with it every session: this Redis keeps nothing on disk. " +
				"By default the instances fail closed: 503, \"try again later\", rather than a 401.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StopRedis(r.Context()); err != nil {
					return err
				}
				v, err := r.Probe("Redis down, failing closed", 1)
				if err != nil {
					return err
				}
				crowd := ms(scenarios.Median(v.Took(inStore)))
				lone := ms(r.SampleLatency(inStore, 20))
				r.Fact("503 ms, median of the users at once", crowd)
				r.Fact("503 ms, one request alone", lone)
				r.Detail("redis: with every user asking at once, a 503 took a median of %s; one request alone, %s (median of 20): a refused connection to Redis, then the 503", scenarios.Millis(crowd), scenarios.Millis(lone))
				return nil
			},
		},
		{
			Title: "restart redis instances to fail open",
			Why:   "STATELAB_FAIL_OPEN=true, Redis still down: an error means no session.",
			Run: func(r *scenarios.Run) error {
				if err := r.RestartVariant(inStore, lab.Settings{FailOpen: true}); err != nil {
					return err
				}
				_, err := r.Probe("Redis down, failing open", 1)
				return err
			},
		},
		{
			Title: "start Redis again, without persistence",
			Why:   "Without an append-only file or snapshot, Redis restarts empty.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StartRedis(r.Context(), false); err != nil {
					return err
				}
				_, err := r.Probe("after a restart without persistence", 1)
				return err
			},
		},
		{
			Title: "restart Redis with persistence; redis users log in again",
			Why:   "appendonly yes: every change is written to a file.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StopRedis(r.Context()); err != nil {
					return err
				}
				if err := r.RT.StartRedis(r.Context(), true); err != nil {
					return err
				}
				return r.FillOf(inStore)
			},
		},
		{
			Title: "stop Redis and start it again",
			Why:   "Stopped and started again with persistence on; then every user is asked who it is.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StopRedis(r.Context()); err != nil {
					return err
				}
				if err := r.RT.StartRedis(r.Context(), true); err != nil {
					return err
				}
				_, err := r.Probe("after a restart with persistence", 1)
				return err
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if !d.DiesWithStore() {
			return []scenarios.Expectation{vocab.KeepsAll(v, "Redis down, failing closed"), vocab.KeepsAll(v, "after a restart without persistence")}
		}
		return []scenarios.Expectation{
			vocab.UnavailableFromInstances(v, "Redis down, failing closed"),
			vocab.LosesAll(v, "Redis down, failing open"),
			vocab.LosesAll(v, "after a restart without persistence"),
			vocab.KeepsAll(v, "after a restart with persistence"),
		}
	},
	Verdict:    "Redis down, failing closed",
	Highlights: []string{"Redis down, failing closed", "after a restart without persistence", "after a restart with persistence"},
	Lesson: func(res *scenarios.Result) string {
		down, of := users(res, "Redis down, failing closed", inStore, scenarios.Unavailable)
		open, _ := users(res, "Redis down, failing open", inStore, scenarios.Lost)
		wiped, _ := users(res, "after a restart without persistence", inStore, scenarios.Lost)
		kept, _ := users(res, "after a restart with persistence", inStore, scenarios.Kept)
		others := "Memory, jwt and cookie never noticed"
		if !allKept(res, "Redis down, failing closed", inProcess, inToken, inCookie) || !allKept(res, "after a restart without persistence", inProcess, inToken, inCookie) {
			others = "Memory, jwt and cookie did not keep every user either (see the table)"
		}
		return fmt.Sprintf("The redis variant outlives any instance, not its store. Stopping Redis, which kept nothing on disk, ended every redis session at once. "+
			"Failing closed, %d of %d redis users got a 503 from healthy instances (%s for one request alone, a median of %s with every user at once), "+
			"which hid the loss until Redis was back; failing open, the same outage said so at once: %d logouts. "+
			"Restarted without persistence, Redis held none of the sessions of %d of %d users; with an append-only file, the same stop and start kept %d of %d. %s. "+
			"Externalised state is still state: the single point of failure moved to Redis.",
			down, of, scenarios.Millis(res.Float("503 ms, one request alone")), scenarios.Millis(res.Float("503 ms, median of the users at once")), open, wiped, of, kept, of, others)
	},
}

// ms is a duration in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
