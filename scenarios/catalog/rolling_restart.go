package catalog

import (
	"fmt"
	"strings"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// rollingRestart: a deploy restarts every instance in turn, gracefully,
// while users keep going; the memory variant loses everyone, the others no
// one.
var rollingRestart = &scenarios.Scenario{
	Name:    "rolling-restart",
	Summary: "every instance restarted in turn, as a deploy does: memory loses everyone, the others no one",
	Setup:   "sticky routing; every instance restarted in turn, gracefully, while users keep going",
	Claims:  []scenarios.Claim{claimFaultTolerance, claimSignedCookiesRestart},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		vocab.Probe("before the restarts", 1, "check that every user is served", "A baseline."),
		{
			Title: "restart instances 1, 2 and 3 of every variant in turn, while users keep asking who they are",
			Why: "A deploy: each instance gets SIGTERM (requests in flight finish) and a new process starts; the next is restarted once the balancer sees it up. " +
				"Users keep asking all along.",
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
		vocab.Probe("after the restarts", 2, "ask every user who it is, twice", "Every process now running started after the users logged in."),
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		switch {
		case d.DiesWithProcess():
			return []scenarios.Expectation{vocab.LosesAll(v, "after the restarts")}
		case d.Shared():
			return []scenarios.Expectation{vocab.KeepsAll(v, "during the restarts"), vocab.KeepsAll(v, "after the restarts")}
		}
		return []scenarios.Expectation{vocab.RefusesElsewhere(v, "after the restarts")}
	},
	Verdict: "after the restarts",
	Lesson: func(res *scenarios.Result) string {
		lost, _ := users(res, "after the restarts", inProcess, scenarios.Lost)
		others := notMemory()
		sent := counts(others, func(v statelab.Variant) int { all, _ := requests(res, "during the restarts", v); return all }) + " requests"
		if s, each := strings.CutSuffix(sent, " each requests"); each {
			sent = s + " requests per variant"
		}
		bad := 0
		for _, v := range others {
			_, b := requests(res, "during the restarts", v)
			bad += b
		}
		failed := fmt.Sprintf("%s of them were not kept", counts(others, func(v statelab.Variant) int { _, b := requests(res, "during the restarts", v); return b }))
		if bad == 0 {
			failed = "and not one of them failed"
		}
		return fmt.Sprintf("A routine deploy in which no instance failed logged out %d memory users: every process that held a session was replaced. "+
			"The %s users sent %s during it, %s: graceful stops, retries of refused connects, and sessions outside the processes.",
			lost, variantNames(others), sent, failed)
	},
}
