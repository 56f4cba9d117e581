package catalog

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// logoutReplay: users log out, then replay the credential they held before.
var logoutReplay = &scenarios.Scenario{
	Name:    "logout-replay",
	Summary: "users log out and replay their old cookie or token: jwt and cookie accept it, until expiry or a denylist",
	Setup:   "sticky routing; every user logs out, then sends its old credential again",
	Claims:  []scenarios.Claim{claimRevocation, claimClient},
	Needs:   []lab.Capability{lab.MeterRedis},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		vocab.Fill(),
		{
			Title: "ask every user who it is, and read a token",
			Why:   "A baseline, and what a token tells whoever holds it.",
			Run: func(r *scenarios.Run) error {
				if _, err := r.Probe("logged in", 3); err != nil {
					return err
				}
				r.Fact("jwt ms, one request alone", ms(r.SampleLatency(inToken, 50)))
				u := r.Users[inToken][0]
				if exp := u.TokenExpiry(); !exp.IsZero() {
					r.Fact("token lifetime, minutes", int(math.Round(exp.Sub(u.Origin.At).Minutes())))
				}
				if payload := u.TokenPayload(); payload != "" {
					r.Fact("a token's payload", payload)
					r.Note("jwt: a token is signed, not encrypted: %s's token names the user and its cart (%s) to anyone holding it", u.Name, cartWords(u.Cart()))
				}
				if c := r.Users[inCookie][0]; c.SessionCookieValue() != "" {
					value := c.SessionCookieValue()
					if readable(value, c) {
						r.Note("cookie: %s's cookie shows its name or an item of its cart to whoever reads it", c.Name)
					} else {
						r.Note("cookie: %s's cookie (%d characters) is encrypted: neither its name nor its cart's items can be read from it, even base64-decoded", c.Name, len(value))
					}
				}
				return nil
			},
		},
		{
			Title: "every user logs out, keeping a copy of its credential",
			Why:   "As a stolen laptop or a copied header would keep it.",
			Run:   func(r *scenarios.Run) error { return r.LogoutAll(statelab.Variants...) },
		},
		{
			Title: "replay the old credentials",
			Why:   "Each user sends the cookie or token it held before. Here refused is good.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ReplayProbe("replayed after logout", statelab.Variants...)
				return err
			},
		},
		{
			Title: "turn on the jwt denylist; the jwt users log in again",
			Why:   "STATELAB_JWT_DENYLIST=true: logout records the login in Redis until its last token expires; every request checks.",
			Run: func(r *scenarios.Run) error {
				if err := r.RestartVariant(inToken, lab.Settings{Denylist: true}); err != nil {
					return err
				}
				if err := r.FillOf(inToken); err != nil {
					return err
				}
				if _, err := r.ProbeOf(scenarios.Session, []statelab.Variant{inToken}, "jwt with the denylist, logged in", 3, (*scenarios.User).Probe); err != nil {
					return err
				}
				with := ms(r.SampleLatency(inToken, 50))
				r.Fact("jwt ms with the denylist, one request alone", with)
				r.Detail("jwt: one GET /me alone takes %s with the denylist, %s without (medians of 50)", scenarios.Millis(with), scenarios.Millis(r.Result().Float("jwt ms, one request alone")))
				return nil
			},
		},
		{
			Title: "the jwt users log out and replay their old tokens",
			Why:   "The same replay, now that logout writes to the denylist.",
			Run: func(r *scenarios.Run) error {
				if err := r.LogoutAll(inToken); err != nil {
					return err
				}
				if _, err := r.ReplayProbe("replayed after logout, with the denylist", inToken); err != nil {
					return err
				}
				keys, bytes, err := lab.RedisStats(r.Context(), r.RT)
				if err != nil {
					return err
				}
				r.Fact("denylist entries", int(keys))
				r.Fact("denylist bytes", int(bytes))
				r.Detail("Redis now holds %d keys (%d bytes): one per logged-out login, each until its last token expires", keys, bytes)
				return nil
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		// Logout ends a session the server holds; a credential that is
		// the session stays valid, unless a denylist remembers it.
		out := []scenarios.Expectation{vocab.Credentials(d.Variant, scenarios.Replay, "replayed after logout", d.ServerHolds())}
		if d.Denylist {
			out = append(out, vocab.Credentials(d.Variant, scenarios.Replay, "replayed after logout, with the denylist", true))
		}
		return out
	},
	Verdict:     "replayed after logout",
	VerdictKind: scenarios.Replay,
	Highlights:  []string{"replayed after logout", "replayed after logout, with the denylist"},
	Lesson: func(res *scenarios.Result) string {
		memRefused, of := users(res, "replayed after logout", inProcess, scenarios.Refused)
		redisRefused, _ := users(res, "replayed after logout", inStore, scenarios.Refused)
		accepted, _ := users(res, "replayed after logout", inToken, scenarios.ReplayAccepted)
		cookies, _ := users(res, "replayed after logout", inCookie, scenarios.ReplayAccepted)
		denied, _ := users(res, "replayed after logout, with the denylist", inToken, scenarios.Refused)
		lifetime := ""
		if m := res.Int("token lifetime, minutes"); m > 0 {
			lifetime = fmt.Sprintf(" (here %d minutes)", m)
		}
		return fmt.Sprintf("Logout deleted the memory and redis sessions: %d of %d memory and %d of %d redis old cookies were refused. "+
			"%d of %d jwt tokens were still accepted: the server keeps nothing it could delete, so a copy is the user until it expires%s, and anyone holding it can read it. "+
			"The cookie variant is the same design in a cookie: logout deleted the cookie from the browser, and %d of %d copies taken before were still accepted (encrypted, so a copy cannot be read, but it can be replayed). "+
			"The denylist refused %d of %d replays by keeping state again: a Redis lookup per request (one GET /me alone: %s with it, %s without) and %d entries in Redis.",
			memRefused, of, redisRefused, of, accepted, of, lifetime, cookies, of, denied, of,
			scenarios.Millis(res.Float("jwt ms with the denylist, one request alone")), scenarios.Millis(res.Float("jwt ms, one request alone")), res.Int("denylist entries"))
	},
}

// readable reports whether a cookie value shows the user's name or one of
// its items, as it is or base64-decoded.
func readable(value string, u *scenarios.User) bool {
	texts := []string{value}
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(value); err == nil {
			texts = append(texts, string(b))
		}
	}
	for _, t := range texts {
		if strings.Contains(t, u.Name) {
			return true
		}
		for _, it := range u.Cart() {
			if strings.Contains(t, it.Item) {
				return true
			}
		}
	}
	return false
}

// cartWords says a cart as "5 × lime, 1 × fig".
func cartWords(cart []statelab.Item) string {
	parts := make([]string, len(cart))
	for i, it := range cart {
		parts[i] = fmt.Sprintf("%d × %s", it.Qty, it.Item)
	}
	return strings.Join(parts, ", ")
}
