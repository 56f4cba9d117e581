package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/lb/api"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// The figures of traffic-spike's rule and load.
const (
	spikeWork      = 20 * time.Millisecond // every instance's work per request
	spikeThreshold = 20                    // requests in flight in a pool that add an instance
	spikeProbe     = "during the spike"
)

// trafficSpike: the users double at once; a small autoscaling rule adds a
// fourth instance to each pool whose requests in flight pass a threshold.
// Round-robin pools (the stateless variants) give it its share at once;
// memory's pool, sticky because it must be, gives it none of the users
// already pinned.
var trafficSpike = &scenarios.Scenario{
	Name:    "traffic-spike",
	Summary: "the users double at once and a rule adds an instance to each busy pool: redis, jwt and cookie give it its share at once, memory none of its users",
	Setup: fmt.Sprintf("memory sticky, the others round-robin; every instance works %s per request; half the users, then all at once; the rule adds an instance to a pool at %d requests in flight",
		scenarios.Seconds(spikeWork.Seconds()), spikeThreshold),
	Claims: []scenarios.Claim{claimInstantScale, claimScalability},
	Steps: []scenarios.Step{
		{
			Title: "memory sticky, the others round-robin",
			Why:   "What each can run: memory's users must come back to their session; the others' can go anywhere.",
			Run: func(r *scenarios.Run) error {
				for _, v := range statelab.Variants {
					pol := api.RoundRobin
					if v.Describe().DiesWithProcess() {
						pol = api.Sticky
					}
					if err := r.SetPolicyFor(v, pol); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Title: fmt.Sprintf("every instance works %s per request", scenarios.Seconds(spikeWork.Seconds())),
			Why:   "A site under real work: each request holds its instance a while, so the requests in flight count the load. Restarted before anyone logs in.",
			Run: func(r *scenarios.Run) error {
				for n := 1; n <= 3; n++ {
					if err := r.Reconfigure(n, lab.Settings{AnswerDelay: spikeWork}); err != nil {
						return err
					}
				}
				return nil
			},
		},
		{
			Title: "half the users log in, fill their carts, then ask who they are, all at once, for a second",
			Why:   fmt.Sprintf("The usual load. Each user has one request in flight at most: %s of them per pool, under the rule's %d.", "15", spikeThreshold),
			Run: func(r *scenarios.Run) error {
				users := spikeHalf(r, 0)
				if err := fillAll(r, users); err != nil {
					return err
				}
				peak := map[statelab.Variant]int64{}
				_, err := r.ProbeCrowd("the usual load", users, func() error {
					return watchInFlight(r, time.Second, func(v statelab.Variant, n int64) { peak[v] = max(peak[v], n) })
				})
				var highest int64
				for _, n := range peak {
					highest = max(highest, n)
				}
				r.Fact("most requests in flight in a pool before the spike", int(highest))
				return err
			},
		},
		{
			Title: "the other half log in: every user asks at once; the rule adds an instance to each busy pool",
			Why: fmt.Sprintf("The spike. The rule, read from the balancer every 50 ms: a pool with %d requests in flight or more gets a fourth instance (working %s per request too), once. "+
				"The crowd keeps asking until every pool's new instance has been up for a second.", spikeThreshold, scenarios.Seconds(spikeWork.Seconds())),
			Run: spike,
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.DiesWithProcess() {
			return []scenarios.Expectation{servesNone(v, instance(d, 4), spikeProbe), vocab.KeepsAll(v, spikeProbe)}
		}
		return []scenarios.Expectation{servesSome(v, instance(d, 4), spikeProbe), vocab.KeepsAll(v, spikeProbe)}
	},
	Expect:  []scenarios.Expectation{ruleFiredInSpike()},
	Verdict: spikeProbe,
	Lesson: func(res *scenarios.Result) string {
		var firsts, shares []string
		for _, v := range notMemory() {
			firsts = append(firsts, fmt.Sprintf("%s %v", v, res.Facts["first answer after it joined: "+string(v)]))
			shares = append(shares, fmt.Sprintf("%d of %d %s", res.Int("answers by the new instance: "+string(v)), res.Int("answers after it joined: "+string(v)), v))
		}
		return fmt.Sprintf("Before the spike no pool had more than %d requests in flight; at the spike every pool reached %d, and the rule added a fourth instance to each. "+
			"In the round-robin pools the new instance gave its first answer %s after it joined its pool, and took its turn from then on: it answered %s requests answered after it joined. "+
			"memory's new instance answered %d of %d: every memory user was pinned to one of the %d instances there were before it, and a sticky pool sends a pinned user nowhere else "+
			"(memory's pool is sticky because, without affinity, its users are refused wherever their session is not: see round-robin). "+
			"The new capacity took load at once where any instance can serve any user; memory's new instance could serve only users who log in after it joined, and none did in this run.",
			res.Int("most requests in flight in a pool before the spike"), spikeThreshold, strings.Join(firsts, ", "), strings.Join(shares, ", "),
			res.Int("answers by the new instance: "+string(inProcess)), res.Int("answers after it joined: "+string(inProcess)), res.Int("memory instances before the spike"))
	},
}

// spikeHalf is the first (0) or second (1) half of every variant's users.
func spikeHalf(r *scenarios.Run, which int) []*scenarios.User {
	var out []*scenarios.User
	for _, v := range statelab.Variants {
		us := r.Users[v]
		mid := len(us) / 2
		if which == 0 {
			out = append(out, us[:mid]...)
		} else {
			out = append(out, us[mid:]...)
		}
	}
	return out
}

// fillAll logs the users in and fills their carts.
func fillAll(r *scenarios.Run, users []*scenarios.User) error {
	var mu sync.Mutex
	var failed []string
	r.Each(users, func(u *scenarios.User) {
		if !u.Fill(r.Context()) {
			mu.Lock()
			failed = append(failed, u.Name)
			mu.Unlock()
		}
	})
	if len(failed) > 0 {
		return fmt.Errorf("%d users could not log in and fill their cart", len(failed))
	}
	return nil
}

// watchInFlight reads the balancer every 50 ms for d (or until seen says
// stop, by closing), telling seen each pool's requests in flight.
func watchInFlight(r *scenarios.Run, d time.Duration, seen func(v statelab.Variant, n int64)) error {
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return r.Context().Err()
		case <-t.C:
		}
		st, err := r.LB.Status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return r.Context().Err()
			}
			return err
		}
		for _, p := range st.Pools {
			var n int64
			for _, b := range p.Backends {
				n += b.InFlight
			}
			seen(statelab.Variant(p.Name), n)
		}
	}
}

// spike logs the other half in, then has every user ask at once while the
// rule watches the pools and adds instance 4 to each that passes the
// threshold; the crowd asks until every new instance has been up for a
// second (at most 30 s in all).
func spike(r *scenarios.Run) error {
	if err := fillAll(r, spikeHalf(r, 1)); err != nil {
		return err
	}
	all := spikeHalf(r, 0)
	all = append(all, spikeHalf(r, 1)...)
	var mu sync.Mutex
	joined := map[statelab.Variant]time.Time{}
	fired := map[statelab.Variant]bool{}
	var adds sync.WaitGroup
	var addErr error
	_, err := r.ProbeCrowd(spikeProbe, all, func() error {
		limit := time.Now().Add(r.Timing().Wait(30 * time.Second))
		for time.Now().Before(limit) {
			err := watchInFlight(r, 100*time.Millisecond, func(v statelab.Variant, n int64) {
				mu.Lock()
				defer mu.Unlock()
				if n < spikeThreshold || fired[v] {
					return
				}
				fired[v] = true
				r.Aside("rule: pool %s had %d requests in flight: adding %s", v, n, v.Instance(4))
				adds.Add(1)
				go func() {
					defer adds.Done()
					at, err := r.AddInstance(v, 4, lab.Settings{AnswerDelay: spikeWork})
					mu.Lock()
					defer mu.Unlock()
					if err != nil && addErr == nil {
						addErr = err
					}
					joined[v] = at
				}()
			})
			if err != nil {
				return err
			}
			mu.Lock()
			done := len(joined) == len(statelab.Variants) && addErr == nil
			latest := time.Time{}
			for _, at := range joined {
				if at.After(latest) {
					latest = at
				}
			}
			failed := addErr
			mu.Unlock()
			if failed != nil {
				return failed
			}
			if done && time.Since(latest) > time.Second {
				return nil
			}
		}
		mu.Lock()
		defer mu.Unlock()
		var missing []string
		for _, v := range statelab.Variants {
			if joined[v].IsZero() {
				missing = append(missing, string(v))
			}
		}
		return fmt.Errorf("the rule did not scale %s within the spike (%d requests in flight never reached, or the new instance never came up)", strings.Join(missing, ", "), spikeThreshold)
	})
	adds.Wait()
	if err != nil {
		return err
	}
	r.Fact("memory instances before the spike", len(r.RT.Instances(inProcess)))
	for _, v := range statelab.Variants {
		r.Fact("rule fired: "+string(v), fired[v])
		newOne := v.Instance(4)
		var after, by int
		first := -1.0
		for _, rq := range r.Requests(v) {
			at := r.At(rq.T) // when the answer came
			if rq.Path != "/me" || at.Before(joined[v]) {
				continue
			}
			after++
			if rq.Instance == newOne {
				by++
				if first < 0 {
					first = at.Sub(joined[v]).Seconds()
				}
			}
		}
		r.Fact("answers after it joined: "+string(v), after)
		r.Fact("answers by the new instance: "+string(v), by)
		r.Fact("first answer after it joined: "+string(v), scenarios.Seconds(max(first, 0)))
		firstWords := ""
		if first >= 0 {
			firstWords = ", the first " + scenarios.Seconds(first) + " after it joined"
		}
		r.Aside("%s joined pool %s at %s; it answered %d of the %d GET /me answered since%s",
			newOne, v, scenarios.Seconds(joined[v].Sub(r.At(0)).Seconds()), by, after, firstWords)
	}
	return nil
}

// ruleFiredInSpike: the rule added an instance to every pool during the
// spike, and never before it (no pool reached the threshold).
func ruleFiredInSpike() scenarios.Expectation {
	return scenarios.Expectation{Variant: scenarios.EveryVariant, Text: fmt.Sprintf("is scaled by the rule during the spike, never before it (%d requests in flight)", spikeThreshold), Check: func(res *scenarios.Result) (bool, string) {
		before := res.Int("most requests in flight in a pool before the spike")
		var not []string
		for _, v := range statelab.Variants {
			if fired, _ := res.Facts["rule fired: "+string(v)].(bool); !fired {
				not = append(not, string(v))
			}
		}
		ok := before < spikeThreshold && len(not) == 0
		if len(not) > 0 {
			return ok, fmt.Sprintf("at most %d in flight before; %s never scaled", before, strings.Join(not, ", "))
		}
		return ok, fmt.Sprintf("at most %d in flight before; every pool scaled during the spike", before)
	}}
}
