package catalog

import (
	"fmt"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

var claimSharedStore = scenarios.Claim{Source: "004", Row: "Shared external session store",
	Text: "Any server can handle any request... This approach scales better and tolerates server failures without session loss, but adds an external dependency."}

var claimBottleneck = scenarios.Claim{Source: "001", Row: "Pro-tip",
	Text: "Implementation of statelessness often shifts the bottleneck from the application server to the database or the distributed cache."}

// redisDown: Redis stops, then comes back without and with persistence; the
// redis variant is unavailable, then lost, then kept, while the others do not
// care. Failing open turns the outage into logouts.
var redisDown = &scenarios.Scenario{
	Name:    "redis-down",
	Summary: "Redis stopped, then restarted without and with persistence: the redis variant is unavailable, then loses everyone, then no one",
	Setup:   "sticky routing; Redis stopped and restarted, failing closed and open, without and with an append-only file",
	Claims:  []scenarios.Claim{claimSharedStore, claimBottleneck},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("before", 1, "check that every user is served", "A baseline."),
		{
			Title: "stop Redis (SIGTERM)",
			Why: "The redis variant's instances are fine, but the one thing they share is gone. By default they fail closed: " +
				"503, \"try again\", rather than pretend the user is logged out.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StopRedis(r.Context()); err != nil {
					return err
				}
				if _, err := r.Probe("Redis down, failing closed", 1); err != nil {
					return err
				}
				one := r.SampleLatency(statelab.Redis, 20)
				r.Fact("outage latency", one)
				r.Note("redis: a request alone takes %s (median of 20) while Redis is down: a refused connection, then a 503", ms(one))
				return nil
			},
		},
		{
			Title: "restart the redis instances failing open, Redis still down",
			Why:   "STATELAB_FAIL_OPEN=true: when Redis errors, carry on as if the user had no session.",
			Run: func(r *scenarios.Run) error {
				if err := r.RestartVariant(statelab.Redis, lab.Settings{FailOpen: true}); err != nil {
					return err
				}
				_, err := r.Probe("Redis down, failing open", 1)
				return err
			},
		},
		{
			Title: "start Redis again, without persistence",
			Why:   "Redis keeps its data in memory. Without an append-only file (or snapshot), a restarted Redis is an empty one.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StartRedis(r.Context(), false); err != nil {
					return err
				}
				_, err := r.Probe("after a restart without persistence", 1)
				return err
			},
		},
		{
			Title: "restart Redis with persistence, and have the redis users log in again",
			Why:   "appendonly yes: Redis writes every change to an append-only file, and reads it back when it starts.",
			Run: func(r *scenarios.Run) error {
				if err := r.RT.StopRedis(r.Context()); err != nil {
					return err
				}
				if err := r.RT.StartRedis(r.Context(), true); err != nil {
					return err
				}
				return r.FillOf(statelab.Redis)
			},
		},
		{
			Title: "stop Redis and start it again",
			Why:   "The same outage as before, with persistence on.",
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
	Expect: []scenarios.Expectation{
		allUnavailable(statelab.Redis, "Redis down, failing closed"),
		answersWithin(statelab.Redis, "Redis down, failing closed", 500*time.Millisecond),
		losesAll(statelab.Redis, "Redis down, failing open"),
		losesAll(statelab.Redis, "after a restart without persistence"),
		keepsAll(statelab.Redis, "after a restart with persistence"),
		keepsAll(statelab.Memory, "Redis down, failing closed"),
		keepsAll(statelab.JWT, "Redis down, failing closed"),
		keepsAll(statelab.Memory, "after a restart without persistence"),
		keepsAll(statelab.JWT, "after a restart without persistence"),
	},
	Verdict: "Redis down, failing closed",
	Lesson: func(res *scenarios.Result) string {
		return fmt.Sprintf("the redis variant survives any instance, but not its store: with Redis down every user got a 503 (in %s), failing open turned that into %d logouts, "+
			"and a Redis restarted without persistence lost all %d sessions, while one with an append-only file kept them all. Memory and jwt never noticed: "+
			"externalising state moved the single point of failure from the instances to Redis.",
			ms(res.Facts["outage latency"].(time.Duration)), res.Verdict("Redis down, failing open").Tallies[statelab.Redis].LostSession,
			res.Verdict("after a restart without persistence").Tallies[statelab.Redis].LostSession)
	},
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// answersWithin expects every probe of a variant to be answered within limit:
// an outage must cost milliseconds, not a hang.
func answersWithin(v statelab.Variant, verdict string, limit time.Duration) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("answers within %s", limit) + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(verdict)
		return len(vd.Took[v]) > 0 && vd.Max(v) <= limit, fmt.Sprintf("median %s, max %s", ms(vd.Median(v)), ms(vd.Max(v)))
	}}
}
