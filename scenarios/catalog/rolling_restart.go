package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
)

// rollingRestart: a deploy restarts every instance in turn, gracefully, while
// users keep going; the memory variant loses everyone, the others no one.
var rollingRestart = &scenarios.Scenario{
	Name:    "rolling-restart",
	Summary: "every instance restarted in turn, as a deploy does: memory loses everyone, the others no one",
	Setup:   "sticky routing; every instance restarted in turn, gracefully, while users keep going",
	Claims:  []scenarios.Claim{claimFaultTolerance},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		probe("before the restarts", 1, "check that every user is served", "A baseline."),
		{
			Title: "restart instances 1, 2 and 3 of every variant in turn, while users keep asking who they are",
			Why: "A deploy: each instance gets SIGTERM (requests in flight finish), a new process starts, and the next instance is restarted only once the balancer sees the new one up. " +
				"Users keep sending requests the whole time.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ProbeDuring("during the restarts", func() error {
					for n := 1; n <= 3; n++ {
						if err := r.End(n, true); err != nil {
							return err
						}
						if err := r.Restart(n); err != nil {
							return err
						}
					}
					return nil
				})
				return err
			},
		},
		probe("after the restarts", 2, "ask every user who it is, twice", "Every process now running started after the users logged in."),
	},
	Expect: []scenarios.Expectation{
		losesAll(statelab.Memory, "after the restarts"),
		keepsAll(statelab.Redis, "during the restarts"),
		keepsAll(statelab.Redis, "after the restarts"),
		keepsAll(statelab.JWT, "during the restarts"),
		keepsAll(statelab.JWT, "after the restarts"),
	},
	Lesson: func(res *scenarios.Result) string {
		lost, users := lostOf(res, "after the restarts", statelab.Memory)
		return fmt.Sprintf("a routine deploy logged out all %d memory users (%d lost), though no instance ever failed. "+
			"Redis and jwt users did not see a single failed request during the whole deploy: graceful stops, retries of refused connects, and sessions that live outside the processes.", users, lost)
	},
}
