package catalog

import (
	"fmt"
	"slices"
	"time"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

// tokenExpiry: tokens and sessions given a few seconds of life. Active
// users keep sessions that slide; a token expires however active its user.
// A copy taken at logout is refused once it expires.
var tokenExpiry = &scenarios.Scenario{
	Name:    "token-expiry",
	Summary: "tokens and sessions live seconds (4 s on a quiet machine): active jwt users must log in again, sessions slide; a copy taken at logout works until it expires",
	Setup:   "round-robin (memory sticky); tokens valid a few seconds from issue, sessions as long from their last use",
	Claims:  []scenarios.Claim{claimRevocation, claimShortExpiry},
	Steps: []scenarios.Step{
		{
			Title: "give every instance short lifetimes: tokens from issue, sessions from their last use",
			Why:   "STATELAB_TOKEN_TTL and STATELAB_SESSION_TTL, every instance restarted: 4 s on a quiet machine, more on a busy one (the run's timing). Memory stays sticky, since it needs affinity.",
			Run: func(r *scenarios.Run) error {
				if err := r.SetPolicyFor(inProcess, api.Sticky); err != nil {
					return err
				}
				life := r.Timing().Lifetime
				for _, v := range statelab.Variants {
					if err := r.RestartVariant(v, lab.Settings{TokenTTL: life, SessionTTL: life}); err != nil {
						return err
					}
				}
				r.Fact("lifetime seconds", life.Seconds())
				r.Note("tokens live %s from issue; sessions %s from their last use, renewed by a read once %s of it has passed",
					scenarios.Seconds(life.Seconds()), scenarios.Seconds(life.Seconds()), scenarios.Seconds(life.Seconds()/2))
				return nil
			},
		},
		vocab.Fill(),
		{
			Title: "every user stays active, asking who it is eight times a lifetime, until every token has expired",
			Why:   "Memory, redis and cookie sessions live the lifetime from their last use: a read renews one (the cookie variant sets a new cookie) once half of that has passed. A token's expiry was fixed when it was issued.",
			Run: func(r *scenarios.Run) error {
				life := r.Timing().Lifetime
				// Both units: the lesson says "500 ms" or "1.0 s".
				r.Fact("probe every ms", float64((life / 8).Milliseconds()))
				r.Fact("probe every seconds", (life / 8).Seconds())
				until := latest(r, inToken, (*scenarios.User).TokenExpiry).Add(time.Second)
				r.Fact("active seconds", roundTenth(time.Until(until).Seconds()))
				if _, err := r.ProbeEvery("active, past the token lifetime", life/8, func() error { return wait(r, until) }); err != nil {
					return err
				}
				// A session lives while no gap between two of its user's
				// requests is longer than half its life: then a read always
				// comes between the moment it may renew and its end. A
				// machine that held a user back longer may have let it
				// expire, active as the user was.
				for _, v := range []statelab.Variant{inProcess, inStore, inCookie} {
					if g := longestGap(r, v); g > life/2 {
						r.Disturbed(v, "%s: a user went %s between two requests while it stayed active; a session lives %s and is renewed only once %s of it has passed",
							v, scenarios.Seconds(g.Seconds()), scenarios.Seconds(life.Seconds()), scenarios.Seconds(life.Seconds()/2))
					}
				}
				return nil
			},
		},
		{
			Title: "every user logs in again, then logs out, keeping a copy of its credential",
			Why:   "Fresh credentials, a lifetime each; the copy is what a thief would hold.",
			Run: func(r *scenarios.Run) error {
				if err := r.FillAll(); err != nil {
					return err
				}
				out := time.Now()
				if err := r.LogoutAll(statelab.Variants...); err != nil {
					return err
				}
				for _, v := range []statelab.Variant{inToken, inCookie} {
					var windows []float64
					for _, u := range r.Users[v] {
						if exp := u.SavedExpiry(); !exp.IsZero() {
							windows = append(windows, exp.Sub(out).Seconds())
						}
					}
					if len(windows) > 0 {
						r.Fact("window "+string(v), roundTenth(slices.Max(windows)))
					}
				}
				return nil
			},
		},
		{
			Title: "replay the copies at once",
			Why:   "Memory and redis deleted the sessions; jwt and cookie kept nothing to delete. Refused is good here.",
			Run: func(r *scenarios.Run) error {
				if _, err := r.ReplayProbe("replayed at once after logout", statelab.Variants...); err != nil {
					return err
				}
				// A copy replayed after it expired is refused whatever the
				// variant: a machine that slow between logout and replay
				// tested expiry, not what logout left behind.
				for _, v := range []statelab.Variant{inToken, inCookie} {
					if n := replayedExpired(r, v); n > 0 {
						r.Disturbed(v, "%s: %d of %d copies were replayed only after they had expired", v, n, len(r.Users[v]))
					}
				}
				return nil
			},
		},
		{
			Title: "wait until every copy has expired, then replay them again",
			Why:   "Without a denylist (logout-replay), expiry is the only revocation that needs no state on the server.",
			Run: func(r *scenarios.Run) error {
				until := time.Now()
				for _, v := range statelab.Variants {
					if t := latest(r, v, (*scenarios.User).SavedExpiry); t.After(until) {
						until = t
					}
				}
				// A second more: tokens and cookies count their life in
				// whole seconds.
				if err := wait(r, until.Add(1500*time.Millisecond)); err != nil {
					return err
				}
				_, err := r.ReplayProbe("replayed after the copies expired", statelab.Variants...)
				return err
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		out := []scenarios.Expectation{vocab.KeepsAll(v, "active, past the token lifetime")}
		if d.FixedLifetime {
			out[0] = vocab.LosesAll(v, "active, past the token lifetime")
		}
		out = append(out, vocab.Credentials(v, scenarios.Replay, "replayed at once after logout", d.ServerHolds()))
		if !d.ServerHolds() {
			out = append(out, vocab.Credentials(v, scenarios.Replay, "replayed after the copies expired", true))
		}
		return out
	},
	Verdict:    "active, past the token lifetime",
	Highlights: []string{"active, past the token lifetime", "replayed at once after logout", "replayed after the copies expired"},
	Lesson: func(res *scenarios.Result) string {
		lost, of := users(res, "active, past the token lifetime", inToken, scenarios.Lost)
		slid := perVariant([]statelab.Variant{inProcess, inStore, inCookie}, func(v statelab.Variant) int {
			n, _ := users(res, "active, past the token lifetime", v, scenarios.Kept)
			return n
		})
		jwtReplayed, _ := users(res, "replayed at once after logout", inToken, scenarios.ReplayAccepted)
		cookieReplayed, _ := users(res, "replayed at once after logout", inCookie, scenarios.ReplayAccepted)
		jwtLate, _ := users(res, "replayed after the copies expired", inToken, scenarios.Refused)
		cookieLate, _ := users(res, "replayed after the copies expired", inCookie, scenarios.Refused)
		return fmt.Sprintf("Asking every %s for %.1f s, %d of %d jwt users were logged out anyway: a token's expiry is fixed when it is issued (%s after), so the client must log in again or hold a refresh token; "+
			"%s users were kept, their sessions renewed by use. "+
			"After logout, %d jwt and %d cookie copies of %d were still accepted; once they expired (the last copy expired %.1f s after logout for jwt, %.1f s for cookie) %d and %d were refused. "+
			"A short expiry bounds how long a stolen copy works: a fixed one (jwt) costs active users their session as often, a sliding one (cookie) keeps them, but would also renew a stolen copy that stays in use.",
			scenarios.Seconds(res.Float("probe every ms")/1000), res.Float("active seconds"), lost, of, scenarios.Seconds(res.Float("lifetime seconds")), slid, jwtReplayed, cookieReplayed, of,
			res.Float("window jwt"), res.Float("window cookie"), jwtLate, cookieLate)
	},
}

// latest is the latest of a time each user of a variant has.
func latest(r *scenarios.Run, v statelab.Variant, of func(*scenarios.User) time.Time) time.Time {
	var t time.Time
	for _, u := range r.Users[v] {
		if x := of(u); x.After(t) {
			t = x
		}
	}
	return t
}

// longestGap is the longest time between two requests of one user of a
// variant, from its login in the scenario's fill to the end of the step
// under way.
func longestGap(r *scenarios.Run, v statelab.Variant) time.Duration {
	last := map[string]float64{}
	longest := 0.0
	for _, rq := range r.Requests(v) {
		if prev, ok := last[rq.User]; ok {
			longest = max(longest, rq.T-prev)
		}
		if rq.Path == "/login" {
			delete(last, rq.User) // a new session: its clock starts here
		}
		last[rq.User] = rq.T
	}
	return time.Duration(longest * float64(time.Second))
}

// replayedExpired counts the users of a variant whose replayed copy
// reached the server after it had expired.
func replayedExpired(r *scenarios.Run, v statelab.Variant) int {
	expiry := map[string]time.Time{}
	for _, u := range r.Users[v] {
		if exp := u.SavedExpiry(); !exp.IsZero() {
			expiry[u.Name] = exp
		}
	}
	late := map[string]bool{}
	for _, rq := range r.Requests(v) {
		if exp, ok := expiry[rq.User]; ok && rq.Path == "/me (replayed)" && r.At(rq.T).After(exp) {
			late[rq.User] = true
		}
	}
	return len(late)
}

// wait waits until t, or until the run is stopped.
func wait(r *scenarios.Run, t time.Time) error {
	select {
	case <-time.After(time.Until(t)):
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

func roundTenth(x float64) float64 { return float64(int(x*10+0.5)) / 10 }
