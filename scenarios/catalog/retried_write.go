package catalog

import (
	"fmt"
	"net/http"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// The probes of retried-write.
const (
	retriedPlain = "after the retry, without a key"
	retriedKeyed = "after the retry, with an Idempotency-Key"
)

// retriedWrite: an instance applies a cart change and dies before
// answering; the client sends the change again. Without an idempotency key
// the shared store applies it twice; with one, once.
var retriedWrite = &scenarios.Scenario{
	Name:     "retried-write",
	Summary:  "an instance applies POST /cart and dies before answering; the client retries: redis adds the item twice, unless the write carries an Idempotency-Key",
	Setup:    "sticky routing; one writer per variant on instance 2, whose instance dies after applying its write, twice (another writer each time): a retry without, then with an Idempotency-Key",
	Claims:   []scenarios.Claim{claimIdempotent, claimSharedStore},
	Needs:    []lab.Capability{lab.Crash},
	MaxUsers: 10,
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		vocab.Probe("before", 1, "check that every user is served", "A baseline, and which users instance 2 serves."),
		{
			Title: "instance 2 of each variant dies after applying one user's write; the user sends it again",
			Why:   "The instance adds the item, then dies before answering (SIGKILL from within). The balancer answers 502 and sends nothing again: it cannot know the write was applied. The user retries.",
			Run:   func(r *scenarios.Run) error { return cutWrite(r, 0, "", retriedPlain) },
		},
		{
			Title: "start instance 2 again; a second user of it logs in afresh",
			Why:   "Another user on the restarted instance, with a new session.",
			Run: func(r *scenarios.Run) error {
				if err := r.Restart(2); err != nil {
					return err
				}
				for _, u := range writers(r, 1) {
					if !u.Fill(r.Context()) {
						return fmt.Errorf("%s could not log in again", u.Name)
					}
				}
				return nil
			},
		},
		{
			Title: "the same, with an Idempotency-Key on the write and on its retry",
			Why:   "The server records the key with the session, wherever the session lives, and does not apply a change whose key it has seen.",
			Run:   func(r *scenarios.Run) error { return cutWrite(r, 1, "retry-key-1", retriedKeyed) },
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		switch {
		case d.DiesWithProcess():
			return []scenarios.Expectation{vocab.LosesAll(v, retriedPlain), vocab.LosesAll(v, retriedKeyed)}
		case !d.ServerHolds():
			// The client's credential changes only with an answer: a
			// write never answered was never applied to it.
			return []scenarios.Expectation{vocab.KeepsAll(v, retriedPlain), vocab.KeepsAll(v, retriedKeyed)}
		case d.Shared():
			return []scenarios.Expectation{
				vocab.Every(v, retriedPlain, scenarios.Duplicated, "applies the retried write twice"),
				vocab.KeepsAll(v, retriedKeyed),
			}
		}
		return []scenarios.Expectation{vocab.RefusesElsewhere(v, retriedPlain), vocab.RefusesElsewhere(v, retriedKeyed)}
	},
	Expect:     []scenarios.Expectation{cutAnswered()},
	Verdict:    retriedPlain,
	Highlights: []string{retriedPlain, retriedKeyed},
	Lesson: func(res *scenarios.Result) string {
		dup, of := users(res, retriedPlain, inStore, scenarios.Duplicated)
		kept, _ := users(res, retriedKeyed, inStore, scenarios.Kept)
		lost, _ := users(res, retriedPlain, inProcess, scenarios.Lost)
		answered := fmt.Sprintf("the balancer answered %d", http.StatusBadGateway)
		if ok, observed := cutAnswered().Check(res); !ok {
			answered = "the balancer's answers varied (" + observed + ")"
		}
		return fmt.Sprintf("Each instance applied the write and died before answering; %s, and the users sent the write again. "+
			"Redis had kept the first write, so the retry added the item a second time: %d of %d redis writers got a duplicated item. "+
			"The jwt and cookie writers sent again the state they held, which never had the item, so it was added once: the new token or cookie had died with the answer. "+
			"The memory writer's session died with the process: %d of %d lost it, and the item with it. "+
			"With an Idempotency-Key the redis server found the key beside the session and did not apply it again: %d of %d kept. "+
			"Where the server keeps the state, a retry is a second write, and only a key the server remembers makes it safe; jwt and cookie were safe without one because the retry resent the state as it was. "+
			"The key could not save the memory writer, whose session died with the process. (One writer per variant each time: the outcome is deterministic, not a sample.)",
			answered, dup, of, lost, of, kept, of)
	},
}

// writers returns, per variant, the i-th user whose requests instance 2
// answered at the first probe.
func writers(r *scenarios.Run, i int) []*scenarios.User {
	var out []*scenarios.User
	for _, v := range statelab.Variants {
		names := r.Result().Verdict("before").UsersOn(v, fmt.Sprintf("%s-2", v))
		if i >= len(names) {
			continue
		}
		for _, u := range r.Users[v] {
			if u.Name == names[i] {
				out = append(out, u)
			}
		}
	}
	return out
}

// cutWrite arms instance 2 of every variant, has the i-th writer of each add
// an item (with key, if any), which the instance applies before dying, then
// sends it again; then probes the writers.
func cutWrite(r *scenarios.Run, i int, key, probe string) error {
	ws := writers(r, i)
	if len(ws) != len(statelab.Variants) {
		return fmt.Errorf("instance 2 of some variant served fewer than %d users: too few users for this scenario", i+1)
	}
	item := statelab.Item{Item: fmt.Sprintf("retried-%d", i+1), Qty: 1}
	statuses := map[string]int{}
	for _, u := range ws {
		if why := u.LoginFailed(); why != "" {
			// Armed, its instance would die on someone else's write.
			return fmt.Errorf("%s's writer %s has no session to write to (%s): nothing to cut", u.Variant, u.Name, why)
		}
		var first scenarios.Response
		if err := r.CrashDuring(u.Variant, 2, func() { first = u.AddKeyed(r.Context(), item, key) }); err != nil {
			return err
		}
		statuses[string(u.Variant)] = first.Status
		second := u.AddKeyed(r.Context(), item, key)
		r.Detail("%s: %s's write answered %d; its retry %d, by %s", u.Variant, u.Name, first.Status, second.Status, second.Instance)
	}
	r.Fact("cut write answers "+probe, statuses)
	_, err := r.ProbeUsers(probe, ws)
	return err
}

// cutAnswered: every write an instance died on was answered 502 by the
// balancer, which sent it nowhere else.
func cutAnswered() scenarios.Expectation {
	return scenarios.Expectation{Variant: scenarios.EveryVariant, Text: "answers a write whose instance died before answering 502, and sends it to no other instance", Check: func(res *scenarios.Result) (bool, string) {
		n, bad := 0, 0
		for _, p := range []string{retriedPlain, retriedKeyed} {
			m, _ := res.Facts["cut write answers "+p].(map[string]int)
			for _, s := range m {
				n++
				if s != http.StatusBadGateway {
					bad++
				}
			}
		}
		return n == 2*len(statelab.Variants) && bad == 0, fmt.Sprintf("%d cut writes, %d answered otherwise than 502", n, bad)
	}}
}
