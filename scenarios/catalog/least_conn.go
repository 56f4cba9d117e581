package catalog

import (
	"fmt"
	"strings"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/lb/api"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// answerDelay is how long the slow instance waits before each answer.
const answerDelay = 40 * time.Millisecond

// leastConn: instance 1 of every variant is made slow; under round-robin
// it still gets a third of the requests, under least-conn the balancer
// sends them where fewer wait. The stateless variants keep every user
// wherever they land; memory's users are refused away from their session
// under both, and those whose session is on the slow instance seldom
// reach it.
var leastConn = &scenarios.Scenario{
	Name:    "least-conn",
	Summary: "one slow instance per variant, round-robin then least-conn: the load moves to the fast instances, which only memory's users cannot use",
	Setup:   "instance 1 of every variant waits " + scenarios.Seconds(answerDelay.Seconds()) + " before each answer; round-robin, then least-conn",
	Claims:  []scenarios.Claim{claimLeastBusy, claimScalability},
	Steps: []scenarios.Step{
		{
			Title: "make " + instanceNames(1) + " slow: each waits " + scenarios.Seconds(answerDelay.Seconds()) + " before every answer",
			Why:   "A busy or degraded machine. Each is restarted with the delay before anyone logs in; its health checks still answer at once.",
			Run:   func(r *scenarios.Run) error { return r.Reconfigure(1, lab.Settings{AnswerDelay: answerDelay}) },
		},
		vocab.Policy(api.RoundRobin, false),
		vocab.Fill(),
		{
			Title: "every user asks who it is, four times",
			Why:   "Round-robin gives each instance the next request in turn, slow or not.",
			Run:   func(r *scenarios.Run) error { return shares(r, "with round-robin") },
		},
		vocab.Policy(api.LeastConn, false),
		{
			Title: "every user asks who it is, four times, again",
			Why:   "Least-conn gives each request to the instance with the fewest requests in flight: a slow one holds its requests longer.",
			Run:   func(r *scenarios.Run) error { return shares(r, "with least-conn") },
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.DiesWithProcess() {
			return []scenarios.Expectation{vocab.RefusesElsewhere(v, "with round-robin"), vocab.RefusesElsewhere(v, "with least-conn")}
		}
		return []scenarios.Expectation{vocab.KeepsAll(v, "with round-robin"), vocab.KeepsAll(v, "with least-conn")}
	},
	Verdict:    "with least-conn",
	Highlights: []string{"with round-robin", "with least-conn"},
	Lesson: func(res *scenarios.Result) string {
		slow := func(v statelab.Variant, probe string) string {
			return fmt.Sprintf("%d of %d", res.Int(shareKey(probe, v, "slow")), res.Int(shareKey(probe, v, "all")))
		}
		others := notMemory()
		var rr, lc []string
		for _, v := range others {
			rr = append(rr, slow(v, "with round-robin")+" "+string(v))
			lc = append(lc, slow(v, "with least-conn")+" "+string(v))
		}
		fewer := "fewer"
		for _, v := range others {
			a := float64(res.Int(shareKey("with least-conn", v, "slow"))) / float64(max(1, res.Int(shareKey("with least-conn", v, "all"))))
			b := float64(res.Int(shareKey("with round-robin", v, "slow"))) / float64(max(1, res.Int(shareKey("with round-robin", v, "all"))))
			if a >= b {
				fewer = "not fewer, for every variant,"
			}
		}
		refusedRR, of := users(res, "with round-robin", inProcess, scenarios.Refused)
		refusedLC, _ := users(res, "with least-conn", inProcess, scenarios.Refused)
		return fmt.Sprintf("Instance 1 of each variant was slow (%s before each answer). Under round-robin it answered %s requests, its turn whatever it costs. "+
			"Under least-conn it answered %s: %s of them. Least-conn gives each request to the instance with the fewest requests in flight, and each of the slow one's stays %s longer. "+
			"%s: any instance could answer any of their users, so the balancer was free to send the load where fewer requests were waiting. "+
			"memory was not: %d of %d users under round-robin and %d under least-conn were refused somewhere, each time a request landed away from the one instance holding its session; "+
			"its users whose session was on memory-1 reached it for %s of their requests under least-conn. "+
			"Routing to the least busy server works for a pool whose instances are interchangeable.",
			scenarios.Seconds(answerDelay.Seconds()), strings.Join(rr, ", "), strings.Join(lc, ", "), fewer, scenarios.Seconds(answerDelay.Seconds()), capital(keptWords(res, "with least-conn")),
			refusedRR, of, refusedLC, slow(inProcess, "with least-conn"))
	},
}

// shareKey names a fact: answers at a probe of a variant, by its slow
// instance ("slow") or by all ("all").
func shareKey(probe string, v statelab.Variant, which string) string {
	return "answers " + which + " " + probe + ": " + string(v)
}

// shares probes every user four times and records, per variant, how many
// answers the slow instance gave of all; for memory, of the answers to
// the users whose session it holds.
func shares(r *scenarios.Run, probe string) error {
	v, err := r.Probe(probe, 4)
	if err != nil {
		return err
	}
	for _, va := range statelab.Variants {
		slowOne := va.Instance(1)
		var slow, all int
		var cells []string
		count := map[string]int{}
		for _, a := range v.Of(va) {
			if va.Describe().DiesWithProcess() && a.Holder != slowOne {
				continue // memory: only the users whose session is on the slow one
			}
			all++
			count[a.Instance]++
			if a.Instance == slowOne {
				slow++
			}
		}
		for _, name := range r.RT.Instances(va) {
			cells = append(cells, fmt.Sprintf("%s %d", name, count[name]))
		}
		r.Fact(shareKey(probe, va, "slow"), slow)
		r.Fact(shareKey(probe, va, "all"), all)
		whose := ""
		if va.Describe().DiesWithProcess() {
			whose = " (to the users whose session " + slowOne + " holds)"
		}
		r.Aside("%s: %s answers%s %s", probe, va, whose, strings.Join(cells, ", "))
	}
	return nil
}
