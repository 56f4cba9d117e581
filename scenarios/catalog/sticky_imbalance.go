package catalog

import (
	"fmt"
	"strings"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/scenarios"
)

// The probes of sticky-imbalance.
const (
	imbalanceBefore = "steady load before"
	imbalanceAfter  = "steady load after the restart"
	imbalanceChurn  = "steady load after the users churned"
)

// stickyImbalance: an instance restarted under sticky routing gets no
// pinned users back; stateless pools, free to use round-robin, rebalance
// at once.
var stickyImbalance = &scenarios.Scenario{
	Name:    "sticky-imbalance",
	Summary: "instance 2 restarted: sticky memory gives it no requests until users churn; round-robin redis, jwt and cookie rebalance at once",
	Setup:   "sticky routing; instance 2 of each variant stopped and started again; then redis, jwt and cookie round-robin, memory sticky",
	Claims:  []scenarios.Claim{claimSticky, claimScalability},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		imbalanceProbe(imbalanceBefore, "every user asks who it is four times", "Requests per instance with every instance up."),
		{
			Title: "stop " + instanceNames(2) + " (SIGTERM)",
			Why:   "A restart in a deploy, or a crash: for a while, instance 2 is gone.",
			Run:   func(r *scenarios.Run) error { return r.End(2, true) },
		},
		vocab.Probe("while instance 2 is down", 1, "ask every user who it is",
			"Users of instance 2 are re-pinned to instance 1 or 3; memory users lose their session there."),
		{
			Title: "memory users who lost their session log in again",
			Why:   "As a person would: the new session is on the instance the user was re-pinned to.",
			Run: func(r *scenarios.Run) error {
				lost := r.Result().Verdict("while instance 2 is down").UsersWith(inProcess, scenarios.Lost)
				for _, u := range r.Users[inProcess] {
					for _, name := range lost {
						if u.Name == name && !u.Fill(r.Context()) {
							return fmt.Errorf("%s could not log in again", u.Name)
						}
					}
				}
				r.Detail("%d memory users logged in again", len(lost))
				return r.Context().Err()
			},
		},
		{
			Title: "start " + instanceNames(2) + " again; route redis, jwt and cookie round-robin",
			Why:   "Instance 2 is back and empty. Memory needs affinity and stays sticky; the others need none.",
			Run: func(r *scenarios.Run) error {
				if err := r.Restart(2); err != nil {
					return err
				}
				for _, v := range notMemory() {
					if err := r.SetPolicyFor(v, api.RoundRobin); err != nil {
						return err
					}
				}
				return nil
			},
		},
		imbalanceProbe(imbalanceAfter, "every user asks who it is four times", "Does instance 2 get its share?"),
		{
			Title: "the users churn: each comes back in a new browser and logs in",
			Why:   "No affinity cookie, a new session: the balancer pins each user afresh.",
			Run: func(r *scenarios.Run) error {
				r.ForgetAffinity()
				return r.FillAll()
			},
		},
		imbalanceProbe(imbalanceChurn, "every user asks who it is four times", "The pins are new."),
		{
			Title: "count the requests each instance answered",
			Why:   "Four requests of every user, at each of the three moments.",
			Run:   imbalanceTable,
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.Shared() {
			return []scenarios.Expectation{spreadsEvenly(v, imbalanceAfter), vocab.KeepsAll(v, imbalanceAfter)}
		}
		return []scenarios.Expectation{servesNone(v, instance(d, 2), imbalanceAfter), servesSome(v, instance(d, 2), imbalanceChurn), vocab.KeepsAll(v, imbalanceAfter)}
	},
	Verdict:    imbalanceAfter,
	Highlights: []string{imbalanceBefore, imbalanceAfter, imbalanceChurn},
	Lesson: func(res *scenarios.Result) string {
		c := func(probe string, v statelab.Variant, inst string) int { return perInstance(res, probe, v)[inst] }
		all, _ := requests(res, imbalanceAfter, inProcess)
		return fmt.Sprintf("Back from its restart, memory-2 served %d of %d memory requests: every memory user was pinned to memory-1 (%d requests) or memory-3 (%d), "+
			"and affinity keeps a pin where it is. Redis, jwt and cookie users had been re-pinned too, and would have stayed as skewed under sticky routing; switched to round-robin, which they can use since they need no pin, "+
			"redis-2, jwt-2 and cookie-2 took %d, %d and %d at once. "+
			"Only when the users churned and were pinned afresh did memory-2 get %d of %d. Sticky sessions reduce the effectiveness of load balancing: "+
			"a pool that scales out or recovers stays skewed for as long as its users stay.",
			c(imbalanceAfter, inProcess, inProcess.Instance(2)), all, c(imbalanceAfter, inProcess, inProcess.Instance(1)), c(imbalanceAfter, inProcess, inProcess.Instance(3)),
			c(imbalanceAfter, inStore, inStore.Instance(2)), c(imbalanceAfter, inToken, inToken.Instance(2)), c(imbalanceAfter, inCookie, inCookie.Instance(2)),
			c(imbalanceChurn, inProcess, inProcess.Instance(2)), all)
	},
}

// imbalanceProbe asks every user four times.
func imbalanceProbe(name, title, why string) scenarios.Step {
	return vocab.Probe(name, 4, title, why)
}

// imbalanceTable shows the requests each instance answered at each probe,
// as numbers and bars (a full bar: every request of the variant).
func imbalanceTable(r *scenarios.Run) error {
	res := r.Result()
	probes := []string{imbalanceBefore, imbalanceAfter, imbalanceChurn}
	// Each cell is a count and a bar, read from the left: so are the
	// headers (renderTable right-aligns, and the padding makes it moot).
	cols := []string{"instance"}
	for _, c := range []string{"before", "after the restart", "after the churn"} {
		cols = append(cols, fmt.Sprintf("%-*s", barCell, c))
	}
	t := scenarios.Table{Title: "requests per instance (a full bar: all of the variant's requests)", Columns: cols}
	for _, v := range statelab.Variants {
		for i := 1; i <= 3; i++ {
			inst := fmt.Sprintf("%s-%d", v, i)
			row := []string{inst}
			for _, p := range probes {
				all, _ := requests(res, p, v)
				n := perInstance(res, p, v)[inst]
				row = append(row, fmt.Sprintf("%3d %-*s", n, barCell-4, bar(n, all)))
			}
			t.Rows = append(t.Rows, row)
		}
	}
	r.AddTable(t)
	return nil
}

// barCell is the width of a count and its bar.
const barCell = 17

// bar draws n of all as up to 12 blocks.
func bar(n, all int) string {
	if all == 0 {
		return ""
	}
	return strings.Repeat("█", (n*12+all/2)/all)
}

// perInstance counts the requests of a probe each instance answered.
func perInstance(res *scenarios.Result, probe string, v statelab.Variant) map[string]int {
	out := map[string]int{}
	for _, a := range res.Verdict(probe).Of(v) {
		out[a.Instance]++
	}
	return out
}

// servesNone: instance answered none of a probe's requests.
func servesNone(v statelab.Variant, instance, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: instance + " answers none of the requests" + vocab.At(probe), Check: func(res *scenarios.Result) (bool, string) {
		all, _ := requests(res, probe, v)
		n := perInstance(res, probe, v)[instance]
		return all > 0 && n == 0, fmt.Sprintf("%s answered %d of %d requests", instance, n, all)
	}}
}

// servesSome: instance answered some of a probe's requests.
func servesSome(v statelab.Variant, instance, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: instance + " answers some of the requests" + vocab.At(probe), Check: func(res *scenarios.Result) (bool, string) {
		all, _ := requests(res, probe, v)
		n := perInstance(res, probe, v)[instance]
		return n > 0, fmt.Sprintf("%s answered %d of %d requests", instance, n, all)
	}}
}

// spreadsEvenly: round-robin over three instances, every one up, gives
// each a third of the requests, give or take one.
func spreadsEvenly(v statelab.Variant, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "spreads the requests evenly: each instance a third, give or take one" + vocab.At(probe), Check: func(res *scenarios.Result) (bool, string) {
		counts := perInstance(res, probe, v)
		lo, hi := -1, 0
		var parts []string
		for i := 1; i <= 3; i++ {
			inst := fmt.Sprintf("%s-%d", v, i)
			n := counts[inst]
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
			parts = append(parts, fmt.Sprintf("%s %d", inst, n))
		}
		return lo > 0 && hi-lo <= 1, strings.Join(parts, ", ")
	}}
}
