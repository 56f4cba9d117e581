package catalog

import (
	"fmt"
	"time"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

const (
	liveConnected   = "live connections opened"
	liveReconnected = "the dropped users reconnected"
)

// longLived: every user holds a WebSocket through the balancer; one
// instance of each variant dies. Its connections drop in every variant;
// what the users find when they reconnect depends on the session design.
var longLived = &scenarios.Scenario{
	Name:    "long-lived",
	Summary: "every user holds a live WebSocket; an instance of each variant is killed: its connections drop in every variant, and only memory users reconnect to nothing",
	Setup:   "sticky routing; every user holds a WebSocket open (GET /live, upgraded; the session pushed every second); one instance of each variant is SIGKILLed",
	Claims:  []scenarios.Claim{claimLongLived, claimChat},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		{
			Title: "every user opens its live connection",
			Why:   "A WebSocket through the balancer, held by the instance the user is pinned to, which sends the user's session down it.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ProbeOf(scenarios.Session, statelab.Variants, liveConnected, 1, (*scenarios.User).Connect)
				return err
			},
		},
		{
			Title: "kill " + instanceNames(2) + " (SIGKILL)",
			Why:   "The process ends, and with it every socket it held.",
			Run:   func(r *scenarios.Run) error { return r.End(2, false) },
		},
		{
			Title: "wait for the connections to drop",
			Why:   "A connection held by a dead process ends; the others stay open.",
			Run:   awaitDrops,
		},
		{
			Title: "the users whose connection dropped reconnect",
			Why:   "The balancer sends them to an instance that is up. Is their session there?",
			Run: func(r *scenarios.Run) error {
				var dropped []*scenarios.User
				for _, v := range statelab.Variants {
					for _, u := range r.Users[v] {
						if isClosed(u.Dropped()) {
							dropped = append(dropped, u)
						}
					}
				}
				_, err := r.ProbeUsersWith(liveReconnected, dropped, (*scenarios.User).Connect)
				return err
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		out := []scenarios.Expectation{vocab.KeepsAll(v, liveConnected), dropsExactly(v)}
		switch {
		case d.DiesWithProcess():
			return append(out, vocab.LosesAll(v, liveReconnected))
		case d.Shared():
			return append(out, vocab.KeepsAll(v, liveReconnected))
		}
		return append(out, vocab.RefusesElsewhere(v, liveReconnected))
	},
	Verdict: liveReconnected,
	// Every user of the lab comes from one address, and the balancer
	// keeps 64 upgraded connections a pool from one address by default.
	MaxUsers:   64,
	Highlights: []string{liveConnected, liveReconnected},
	Lesson: func(res *scenarios.Result) string {
		drops := perVariant(statelab.Variants, func(v statelab.Variant) int { return dropsOf(res, v).Dropped })
		_, of := users(res, liveConnected, inProcess, scenarios.Kept)
		lost, n := users(res, liveReconnected, inProcess, scenarios.Lost)
		return fmt.Sprintf("Killing %s dropped %s live connections of %d users each: exactly those the dead instances held, whatever the session design. "+
			"A connection is state no design can move: it lives in one process, and a stateless token does not keep it open. "+
			"Reconnecting, %d of %d memory users found their session gone with the process; the redis, jwt and cookie users found theirs. "+
			"The connection is the state that cannot move; the session can, and where it lives outside the process, a reconnect finds it. That is why servers of long-lived connections stay stateful, whatever their sessions do.",
			instanceNames(2), drops, of, lost, n)
	},
}

// liveDrops is what happened to a variant's live connections when
// instance 2 died.
type liveDrops struct {
	Open    int `json:"open"`               // connections open when instance 2 died
	Held    int `json:"held_by_instance_2"` // connections instance 2 held
	Dropped int `json:"dropped"`
	Others  int `json:"dropped_elsewhere"` // dropped, though held by another instance
}

// awaitDrops waits until every connection held by a dead instance has
// ended (5 s at most), then counts, per variant, the connections that
// dropped and those that did not.
func awaitDrops(r *scenarios.Run) error {
	deadline := time.After(5 * time.Second)
	for _, v := range statelab.Variants {
		dead := fmt.Sprintf("%s-2", v)
		for _, u := range r.Users[v] {
			if u.LiveInstance() != dead {
				continue
			}
			select {
			case <-u.Dropped():
			case <-deadline:
				return fmt.Errorf("%s's live connection to %s, which is dead, is still open after 5 s", u.Name, dead)
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
	}
	var lines []string
	same := true
	var first liveDrops
	for i, v := range statelab.Variants {
		var d liveDrops
		dead := fmt.Sprintf("%s-2", v)
		for _, u := range r.Users[v] {
			if u.Dropped() == nil {
				continue // no connection: its user never got one
			}
			d.Open++
			on := u.LiveInstance() == dead
			gone := isClosed(u.Dropped())
			if on {
				d.Held++
			}
			if gone {
				d.Dropped++
			}
			if gone && !on {
				d.Others++
			}
		}
		r.Fact("live "+string(v), d)
		if i == 0 {
			first = d
		}
		same = same && d == first && d.Others == 0 && d.Held == d.Dropped
		lines = append(lines, fmt.Sprintf("%s: %d of %d live connections dropped (%d of them held by %s); %d still open", v, d.Dropped, d.Open, d.Dropped-d.Others, dead, d.Open-d.Dropped))
	}
	if same {
		// The usual case, in one line.
		r.Note("in each variant %d of %d live connections dropped, exactly those %s held; %d still open",
			first.Dropped, first.Open, instanceNames(2), first.Open-first.Dropped)
		return nil
	}
	for _, l := range lines {
		r.Note("%s", l)
	}
	return nil
}

func isClosed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func dropsOf(res *scenarios.Result, v statelab.Variant) liveDrops {
	d, _ := res.Facts["live "+string(v)].(liveDrops)
	return d
}

// dropsExactly: the connections instance 2 held dropped, and no other.
func dropsExactly(v statelab.Variant) scenarios.Expectation {
	inst := fmt.Sprintf("%s-2", v)
	return scenarios.Expectation{Variant: v, Text: "drops exactly the live connections " + inst + " held", Check: func(res *scenarios.Result) (bool, string) {
		d := dropsOf(res, v)
		return d.Held > 0 && d.Dropped == d.Held && d.Others == 0, fmt.Sprintf("%s held %d; %d dropped, %d of them held elsewhere", inst, d.Held, d.Dropped, d.Others)
	}}
}
