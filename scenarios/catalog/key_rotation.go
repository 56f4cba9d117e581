package catalog

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"

	"statelab"
	"statelab/credential"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// The keys the rotation scenario puts in force. They are the scenario's
// own, so that it can also play the attacker who has them. 34 bytes each:
// HS256 wants at least 32.
const (
	rotationKeyA = "statelab-rotation-key-A-0123456789"
	rotationKeyB = "statelab-rotation-key-B-0123456789"
)

// rotationKeys are cookie keys and jwt keys (kid, secret): the first of
// each signs, all verify.
func rotationKeys(cookie []string, jwtKeys ...statelab.Key) statelab.Keys {
	k := statelab.Keys{JWT: jwtKeys}
	for _, c := range cookie {
		k.Cookie = append(k.Cookie, []byte(c))
	}
	return k
}

func key(id, secret string) statelab.Key { return statelab.Key{ID: id, Secret: []byte(secret)} }

func setAllKeys(keys statelab.Keys, what string) func(r *scenarios.Run) error {
	return func(r *scenarios.Run) error {
		if err := r.SetKeys(keys, r.AllInstances()...); err != nil {
			return err
		}
		r.Detail("every instance reloaded its keys (SIGHUP, no restart): %s", what)
		return nil
	}
}

// keyRotation: signing keys rotated on every instance, with and without
// keeping the old key; then an attacker with the new key shows what a
// leaked key is worth to each variant.
var keyRotation = &scenarios.Scenario{
	Name:    "key-rotation",
	Summary: "signing keys rotated with and without the old key kept; then a leaked key: a forged token or whole-session cookie passes for any user, a forged session id finds no session",
	Setup:   "sticky routing; keys reloaded on every instance without a restart",
	Claims:  []scenarios.Claim{claimAuth},
	Needs:   []lab.Capability{lab.ReloadKeys, lab.MeterRedis},
	Steps: []scenarios.Step{
		vocab.Sticky(),
		{
			Title: "put key A in force on every instance",
			Why:   "Cookies and tokens signed with key A (a token names it kid a); reloaded on SIGHUP, no restart.",
			Run:   setAllKeys(rotationKeys([]string{rotationKeyA}, key("a", rotationKeyA)), "cookie key A, jwt key a"),
		},
		vocab.Fill(),
		vocab.Probe("before the rotation", 1, "check that every user is served", "Every credential was signed with key A."),
		{
			Title: "rotate to key B, keeping A for verification",
			Why:   "B signs from now on; A still verifies: how keys should rotate.",
			Run:   setAllKeys(rotationKeys([]string{rotationKeyB, rotationKeyA}, key("b", rotationKeyB), key("a", rotationKeyA)), "cookie keys B, A; jwt keys b (signs), a"),
		},
		vocab.Probe("after rotating to B, A still verifying", 2, "ask every user who it is, twice", "Credentials signed with A, verified by a server whose signing key is B."),
		{
			Title: "drop key A",
			Why:   "Only B is left. Anything signed with A no longer verifies.",
			Run: func(r *scenarios.Run) error {
				r.Fault()
				return setAllKeys(rotationKeys([]string{rotationKeyB}, key("b", rotationKeyB)), "cookie key B; jwt key b")(r)
			},
		},
		vocab.Probe("after dropping A", 1, "ask every user who it is", "Every credential the users hold was signed with A."),
		{
			Title: "count what the servers still hold of these users",
			Why:   "Locked out: is anything of them left on the server side?",
			Run: func(r *scenarios.Run) error {
				sessions, _, err := r.Held(inProcess)
				if err != nil {
					return err
				}
				keys, _, err := lab.RedisStats(r.Context(), r.RT)
				if err != nil {
					return err
				}
				jwtHeld, _, err := r.Held(inToken)
				if err != nil {
					return err
				}
				r.Fact("memory sessions held", int(sessions))
				r.Fact("redis sessions held", int(keys))
				cookieHeld, _, err := r.Held(inCookie)
				if err != nil {
					return err
				}
				r.Fact("jwt sessions held", int(jwtHeld))
				r.Fact("cookie sessions held", int(cookieHeld))
				r.Note("the memory instances still hold %d sessions; Redis still holds %d; the jwt and cookie instances hold %d and %d: each of those users existed only in its token or cookie", sessions, keys, jwtHeld, cookieHeld)
				return nil
			},
		},
		{
			Title: "an attacker with key B makes a credential for every user",
			Why:   "Keys leak. With B, the attacker signs a random session id (memory, redis), or makes a token (jwt) or a whole session cookie (cookie) naming the victim. Refused is good here.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ProbeOf(scenarios.Forgery, statelab.Variants, "forged with key B", 1, forge)
				return err
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		// Every credential is signed with the keys: all survive a rotation
		// that keeps A verifying, none survives dropping A. Only a
		// credential that is the session can be forged with a trusted key.
		return []scenarios.Expectation{
			vocab.KeepsAll(d.Variant, "after rotating to B, A still verifying"),
			vocab.RefusesAll(d.Variant, "after dropping A"),
			vocab.Credentials(d.Variant, scenarios.Forgery, "forged with key B", d.ServerHolds()),
		}
	},
	Verdict:    "after dropping A",
	Highlights: []string{"after rotating to B, A still verifying", "after dropping A", "forged with key B"},
	Lesson: func(res *scenarios.Result) string {
		kept, of := users(res, "after rotating to B, A still verifying", inToken, scenarios.Kept)
		var refused []string
		for _, v := range statelab.Variants {
			n, _ := users(res, "after dropping A", v, scenarios.Refused)
			refused = append(refused, fmt.Sprint(n))
		}
		forgedCookies := 0
		for _, v := range []statelab.Variant{inProcess, inStore} {
			n, _ := users(res, "forged with key B", v, scenarios.ForgeryAccepted)
			forgedCookies += n
		}
		forgedTokens, _ := users(res, "forged with key B", inToken, scenarios.ForgeryAccepted)
		forgedWhole, _ := users(res, "forged with key B", inCookie, scenarios.ForgeryAccepted)
		rotated := fmt.Sprintf("Rotating to B while A still verified kept %d of %d jwt users", kept, of)
		if allKept(res, "after rotating to B, A still verifying", statelab.Variants...) {
			rotated = fmt.Sprintf("Rotating to B while A still verified lost nobody (%d of %d users kept, in every variant)", kept, of)
		}
		return fmt.Sprintf("%s; dropping A too early refused the users of every variant alike (%s of %d), destroying nothing: memory and Redis still held %d and %d sessions, "+
			"and the jwt and cookie instances %d and %d (each of those users lives only in its token or cookie, which A would verify again). "+
			"With the key, forged session ids were accepted %d times (a signed id must also name a session the server holds), forged tokens for %d of %d users, forged whole-session cookies for %d of %d. "+
			"With a shared HMAC key (HS256, as here) whatever verifies tokens can also mint them; an asymmetric key (RS256, ES256) would leave the instances only a public key, which this lab does not show. "+
			"The cookie variant has no such way out: every instance must encrypt and decrypt its cookies, so every instance holds the secret.",
			rotated, vocab.And(refused), of, res.Int("memory sessions held"), res.Int("redis sessions held"), res.Int("jwt sessions held"), res.Int("cookie sessions held"), forgedCookies, forgedTokens, of, forgedWhole, of)
	},
}

// forge plays the attacker with key B: it signs a random session id for
// memory and redis, or makes a token (jwt) or a whole session cookie
// (cookie) naming the user, and sends it.
func forge(u *scenarios.User, ctx context.Context) (scenarios.Outcome, scenarios.Response) {
	if u.Variant.Describe().Bearer {
		// The claims any statelab token carries, read off one (base64
		// is not encryption), naming the victim.
		signed, err := credential.SignToken(credential.Claims{
			RegisteredClaims: credential.NewClaims(u.Name, "forged", time.Now(), time.Hour),
			SID:              "forged", Cart: []statelab.Item{{Item: "forged", Qty: 1}}, Login: jwt.NewNumericDate(time.Now()),
		}, "b", []byte(rotationKeyB))
		if err != nil {
			return scenarios.Unavailable, scenarios.Response{Err: err}
		}
		return u.As(ctx, "", "", signed)
	}
	name := u.SessionCookie()
	var value string
	var err error
	if !u.Variant.Describe().ServerHolds() {
		// The whole session, as the servers write it (the scheme is no
		// secret; the key is), naming the victim.
		value, err = securecookie.EncodeMulti(name, credential.Session{User: u.Name, Cart: []statelab.Item{{Item: "forged", Qty: 1}}, Since: time.Now().Unix()}, credential.SessionCodec([]byte(rotationKeyB)))
	} else {
		value, err = securecookie.EncodeMulti(name, []byte(rand.Text()), credential.IDCodec([]byte(rotationKeyB)))
	}
	if err != nil {
		return scenarios.Unavailable, scenarios.Response{Err: err}
	}
	return u.As(ctx, name, value, "")
}
