package catalog

import (
	"fmt"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

var (
	claimRevocation = scenarios.Claim{Source: "004", Row: "Revocation",
		Text: "Stateless: harder; a JWT cannot be invalidated before it expires without a token blacklist or short expiry times. Stateful: easier; deleting a session record immediately terminates that client's access."}
	claimClient = scenarios.Claim{Source: "004", Row: "Client Responsibility",
		Text: "Stateless: the client must securely store and transmit the token on every request. Stateful: the client stores only a session ID, a short opaque reference."}
)

// logoutReplay: users log out, then replay the credential they held before.
var logoutReplay = &scenarios.Scenario{
	Name:    "logout-replay",
	Summary: "users log out and replay their old cookie or token: only jwt accepts it, until expiry or a denylist",
	Setup:   "sticky routing; every user logs out, then sends its old credential again",
	Claims:  []scenarios.Claim{claimRevocation, claimClient},
	Steps: []scenarios.Step{
		stickyStep(),
		fill(),
		{
			Title: "ask every user who it is, three times",
			Why:   "A baseline, and the time one jwt request takes.",
			Run: func(r *scenarios.Run) error {
				if _, err := r.Probe("logged in", 3); err != nil {
					return err
				}
				r.Fact("jwt latency", r.SampleLatency(statelab.JWT, 50))
				return nil
			},
		},
		{
			Title: "every user logs out, keeping a copy of its cookie or token",
			Why:   "As a stolen laptop, a copied header or a shared computer would keep it.",
			Run:   func(r *scenarios.Run) error { return r.LogoutAll(statelab.Variants...) },
		},
		{
			Title: "replay the old credentials",
			Why:   "Each user sends the cookie or token it held before logging out.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ReplayProbe("replayed after logout")
				return err
			},
		},
		{
			Title: "turn on the jwt denylist, and have the jwt users log in again",
			Why:   "STATELAB_JWT_DENYLIST=true: a logout records the token's login in Redis until its last token expires, and every request checks that list.",
			Run: func(r *scenarios.Run) error {
				if err := r.RestartVariant(statelab.JWT, lab.Settings{Denylist: true}); err != nil {
					return err
				}
				if err := r.FillOf(statelab.JWT); err != nil {
					return err
				}
				if _, err := r.ProbeOf([]statelab.Variant{statelab.JWT}, "jwt with the denylist, logged in", 3, (*scenarios.User).Probe); err != nil {
					return err
				}
				r.Fact("jwt latency with denylist", r.SampleLatency(statelab.JWT, 50))
				r.Note("jwt: one GET /me takes %s with the denylist, %s without (median of 50, one at a time)",
					ms(r.Result().Facts["jwt latency with denylist"].(time.Duration)), ms(r.Result().Facts["jwt latency"].(time.Duration)))
				return nil
			},
		},
		{
			Title: "the jwt users log out and replay their old tokens",
			Why:   "The same replay, now that logging out writes to the denylist.",
			Run: func(r *scenarios.Run) error {
				if err := r.LogoutAll(statelab.JWT); err != nil {
					return err
				}
				if _, err := r.ProbeOf([]statelab.Variant{statelab.JWT}, "replayed after logout, with the denylist", 1, (*scenarios.User).Replay); err != nil {
					return err
				}
				keys, bytes, err := r.RT.RedisStats(r.Context())
				if err != nil {
					return err
				}
				r.Fact("denylist keys", keys)
				r.Note("Redis now holds %d keys (%d bytes): one per logged-out login, each until its last token expires", keys, bytes)
				return nil
			},
		},
	},
	Expect: []scenarios.Expectation{
		refusesReplay(statelab.Memory, "replayed after logout"),
		refusesReplay(statelab.Redis, "replayed after logout"),
		acceptsReplay(statelab.JWT, "replayed after logout"),
		refusesReplay(statelab.JWT, "replayed after logout, with the denylist"),
	},
	Verdict: "replayed after logout",
	Lesson: func(res *scenarios.Result) string {
		return fmt.Sprintf("logging out deleted the memory and redis sessions, so their old cookies found nothing; all %d jwt tokens still worked after logout, "+
			"because a jwt server keeps nothing it could delete: whoever holds a copy is the user until it expires. "+
			"The denylist fixes that by keeping state again: a Redis lookup on every request (median GET /me %s with it, %s without) and %v entries to keep.",
			res.Verdict("replayed after logout").Tallies[statelab.JWT].Kept, ms(res.Facts["jwt latency with denylist"].(time.Duration)), ms(res.Facts["jwt latency"].(time.Duration)), res.Facts["denylist keys"])
	},
}

func refusesReplay(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "refuses every old credential" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(verdict).Tallies[v]
		return t.Users > 0 && t.LostSession == t.Users, fmt.Sprintf("%d of %d refused (401)", t.LostSession, t.Users)
	}}
}

func acceptsReplay(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "still accepts every old token" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(verdict).Tallies[v]
		return t.Users > 0 && t.Kept == t.Users, fmt.Sprintf("%d of %d accepted", t.Kept, t.Users)
	}}
}
