package catalog

import (
	"fmt"
	"sync"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// The probes of flaky-network.
const (
	flakyPlain = "after the retry, without a key"
	flakyKeyed = "after the retry, with an Idempotency-Key"
)

// flakyNetwork: the network between the users and the balancer drops
// every answer for a moment; each user's write was applied, its answer
// lost, and the user sends it again. A self-contained request (jwt,
// cookie) is safe to send again; where the server keeps the state
// (memory, redis), only an Idempotency-Key makes it so.
var flakyNetwork = &scenarios.Scenario{
	Name:    "flaky-network",
	Summary: "the users' network drops every answer while each user writes once; each sends it again: memory and redis apply it twice, unless the write carries an Idempotency-Key",
	Setup:   "sticky routing; the users' requests through a proxy in front of the balancer, which drops every answer while each user adds one item, twice: a retry without, then with an Idempotency-Key",
	Claims:  []scenarios.Claim{claimFluctuating, claimIdempotent},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		{
			Title: "every user's requests go through a proxy in front of the balancer",
			Why:   "The network between the users and the site, which the scenario can break; the proxy is the lab's own, the one it puts in front of Redis for slow-redis.",
			Run:   func(r *scenarios.Run) error { return r.Through() },
		},
		vocab.Fill(),
		vocab.Probe("before", 1, "check that every user is served", "A baseline, through the proxy."),
		{
			Title: "the network drops every answer while half the users add one item each; then each sends it again",
			Why:   "Each write reaches its instance, which applies it and answers; the answer is lost on the way back (the connection is reset). The user cannot know the write was applied, so it sends it again, as a browser's reload or an SDK's retry would, once the network is back.",
			Run:   func(r *scenarios.Run) error { return dropWrites(r, 0, "", flakyPlain) },
		},
		{
			Title: "the same for the other half, with an Idempotency-Key on each write and on its retry",
			Why:   "The server records the key with the session, wherever the session lives, and does not apply a change whose key it has seen.",
			Run:   func(r *scenarios.Run) error { return dropWrites(r, 1, "flaky-key", flakyKeyed) },
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.ServerHolds() {
			return []scenarios.Expectation{vocab.Every(v, flakyPlain, scenarios.Duplicated, "applies every retried write twice"), vocab.KeepsAll(v, flakyKeyed)}
		}
		// The client's credential changes only with an answer: the
		// retry resends the state as it was before the write.
		return []scenarios.Expectation{vocab.KeepsAll(v, flakyPlain), vocab.KeepsAll(v, flakyKeyed)}
	},
	Expect:     []scenarios.Expectation{allDropped()},
	Verdict:    flakyPlain,
	Highlights: []string{flakyPlain, flakyKeyed},
	Lesson: func(res *scenarios.Result) string {
		dupMem, of := users(res, flakyPlain, inProcess, scenarios.Duplicated)
		dupRedis, _ := users(res, flakyPlain, inStore, scenarios.Duplicated)
		keptToken, _ := users(res, flakyPlain, inToken, scenarios.Kept)
		keptCookie, _ := users(res, flakyPlain, inCookie, scenarios.Kept)
		keptMem, ofKeyed := users(res, flakyKeyed, inProcess, scenarios.Kept)
		keptRedis, _ := users(res, flakyKeyed, inStore, scenarios.Kept)
		return fmt.Sprintf("The network dropped the answers to all %d writes sent without a key (%d of each variant), each applied by its instance, and every writer sent its write again. "+
			"memory and redis had kept the first write, so the retry applied it a second time: %d of %d memory and %d of %d redis writers got a duplicated item. "+
			"jwt and cookie kept %d and %d of %d: their cart lives in the token or cookie, and the new one died with the answer, so the retry applied the write to the state as it was, once. "+
			"With an Idempotency-Key the server found the key beside the session and did not apply the write again: %d of %d memory and %d of %d redis writers kept their cart. "+
			"A request that carries its whole state could be sent again as it was; anything a server records itself (an order, a payment) would be written twice by a stateless service too, "+
			"and there, as for memory and redis here, a key the server remembers is what makes a retry safe.",
			res.Int("writes sent while the network dropped answers, "+flakyPlain), of, dupMem, of, dupRedis, of, keptToken, keptCookie, of, keptMem, ofKeyed, keptRedis, ofKeyed)
	},
}

// half is every other user of every variant: the first (0) or the second
// (1) of each pair, so that each retry is judged on carts it alone wrote.
func half(r *scenarios.Run, which int) []*scenarios.User {
	var out []*scenarios.User
	for _, v := range statelab.Variants {
		for i, u := range r.Users[v] {
			if i%2 == which {
				out = append(out, u)
			}
		}
	}
	return out
}

// dropWrites has the users' network drop every answer while each of half
// the users adds one item (with a key of its own, if key is set), then
// lets answers pass and has each send its write again; then probes them.
func dropWrites(r *scenarios.Run, which int, key, probe string) error {
	users := half(r, which)
	item := statelab.Item{Item: "flaky-" + probe[len(probe)-3:], Qty: 1}
	keyOf := func(u *scenarios.User) string {
		if key == "" {
			return ""
		}
		return key + "-" + u.Name
	}
	before := r.Dropped()
	if err := r.DropAnswers(true); err != nil {
		return err
	}
	var mu sync.Mutex
	answered := 0
	r.Each(users, func(u *scenarios.User) {
		if resp := u.AddKeyed(r.Context(), item, keyOf(u)); resp.Err == nil {
			mu.Lock()
			answered++ // the network was to drop it
			mu.Unlock()
		}
	})
	if err := r.DropAnswers(false); err != nil {
		return err
	}
	dropped := r.Dropped() - before
	r.Fact("writes sent while the network dropped answers, "+probe, len(users))
	r.Fact("writes answered while the network dropped answers, "+probe, answered)
	r.Fact("answers dropped, "+probe, int(dropped))
	again := ""
	if int(dropped) > len(users) {
		// Go's HTTP client sends a request with an Idempotency-Key again
		// by itself when its connection breaks: the key marks it safe.
		again = " (the HTTP client sent keyed writes again by itself, which the key marks safe to resend)"
	}
	r.Aside("%s: %d writes sent, %d answers dropped, %d answered%s", probe, len(users), dropped, answered, again)
	failed := 0
	r.Each(users, func(u *scenarios.User) {
		if resp := u.AddKeyed(r.Context(), item, keyOf(u)); !resp.OK() {
			mu.Lock()
			failed++
			mu.Unlock()
		}
	})
	r.Detail("%d users sent their write again; %d retries failed", len(users), failed)
	_, err := r.ProbeUsers(probe, users)
	return err
}

// allDropped: no write sent while the network dropped answers got one.
func allDropped() scenarios.Expectation {
	return scenarios.Expectation{Variant: scenarios.EveryVariant, Text: "gets no answer to any write sent while the network drops answers", Check: func(res *scenarios.Result) (bool, string) {
		n := res.Int("writes answered while the network dropped answers, "+flakyPlain) + res.Int("writes answered while the network dropped answers, "+flakyKeyed)
		return n == 0, fmt.Sprintf("%d writes answered", n)
	}}
}
