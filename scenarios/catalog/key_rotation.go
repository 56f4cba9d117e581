package catalog

import (
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"statelab"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"

	"statelab/scenarios"
)

var claimAuth = scenarios.Claim{Source: "004", Row: "Authentication Mechanism",
	Text: "Stateless: a self-contained token such as a JWT is verified cryptographically without a database lookup. Stateful: a session ID is sent with each request and the server looks up the corresponding session data in its store."}

// The keys the rotation scenario puts in force. They are the scenario's
// own, so that it can also play the attacker who has them.
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
		r.Note("every instance reloaded its keys (SIGHUP, no restart): %s", what)
		return nil
	}
}

// keyRotation: signing keys rotated on every instance, with and without
// keeping the old key; then an attacker with the new key shows that only
// jwt takes the key for the user.
var keyRotation = &scenarios.Scenario{
	Name:    "key-rotation",
	Summary: "signing keys rotated with and without the old key kept: every variant depends on it, but only jwt's identity is the key",
	Setup:   "sticky routing; keys reloaded on every instance without a restart",
	Claims:  []scenarios.Claim{claimAuth},
	Steps: []scenarios.Step{
		stickyStep(),
		{
			Title: "put key A in force on every instance",
			Why:   "Cookies (memory, redis) are signed with key A, tokens (jwt) with key a. Keys are reloaded from a file on SIGHUP: nothing restarts, so memory keeps its sessions.",
			Run:   setAllKeys(rotationKeys([]string{rotationKeyA}, key("a", rotationKeyA)), "cookie key A, jwt key a"),
		},
		fill(),
		probe("before the rotation", 1, "check that every user is served", "Every credential was signed with key A."),
		{
			Title: "rotate to key B, keeping A for verification",
			Why:   "B signs from now on; A still verifies what it signed. This is how keys should be rotated.",
			Run:   setAllKeys(rotationKeys([]string{rotationKeyB, rotationKeyA}, key("b", rotationKeyB), key("a", rotationKeyA)), "cookie keys B, A; jwt keys b (signs), a"),
		},
		probe("after rotating, A kept", 2, "ask every user who it is, twice", "Credentials signed with A, verified by a server whose signing key is B."),
		{
			Title: "drop key A",
			Why:   "Only B is left. Anything signed with A no longer verifies.",
			Run:   setAllKeys(rotationKeys([]string{rotationKeyB}, key("b", rotationKeyB)), "cookie key B; jwt key b"),
		},
		probe("after dropping A", 1, "ask every user who it is", "Every credential the users hold was signed with A."),
		{
			Title: "count what the servers still know of these users",
			Why:   "The users are locked out, but is anything of them left on the server side?",
			Run: func(r *scenarios.Run) error {
				sessions, _, err := r.Held(statelab.Memory)
				if err != nil {
					return err
				}
				keys, _, err := r.RT.RedisStats(r.Context())
				if err != nil {
					return err
				}
				jwtHeld, _, err := r.Held(statelab.JWT)
				if err != nil {
					return err
				}
				r.Fact("memory held", sessions)
				r.Fact("redis held", keys)
				r.Note("memory instances still hold %d sessions; Redis still holds %d; the jwt instances hold %d: each jwt user existed only in its token", sessions, keys, jwtHeld)
				return nil
			},
		},
		{
			Title: "an attacker who has key B makes a credential for every user",
			Why: "Signing keys leak. With B, the attacker signs a random session id (memory, redis) or a token naming the victim (jwt). " +
				"A session id must also match a session the server holds; a token needs nothing else.",
			Run: forgeAll,
		},
	},
	Expect: []scenarios.Expectation{
		keepsAll(statelab.Memory, "after rotating, A kept"),
		keepsAll(statelab.Redis, "after rotating, A kept"),
		keepsAll(statelab.JWT, "after rotating, A kept"),
		losesAll(statelab.Memory, "after dropping A"),
		losesAll(statelab.Redis, "after dropping A"),
		losesAll(statelab.JWT, "after dropping A"),
		forgeries(statelab.Memory, false),
		forgeries(statelab.Redis, false),
		forgeries(statelab.JWT, true),
	},
	Lesson: func(res *scenarios.Result) string {
		return fmt.Sprintf("rotating with the old key kept lost nobody, and dropping it too early locked out every user of every variant. "+
			"But for memory and redis the key only vouches for an opaque id: %v and %v sessions were still on the server side, and a forged cookie found none of them. "+
			"For jwt the key is the identity: the servers knew nothing of the users, and anyone holding the key could be any of them (%v of %v forged tokens taken).",
			res.Facts["memory held"], res.Facts["redis held"], res.Facts["forged jwt"], res.Facts["users"])
	},
}

// forgeAll has an attacker with key B make a credential for every user.
func forgeAll(r *scenarios.Run) error {
	codec := securecookie.New([]byte(rotationKeyB), nil)
	codec.SetSerializer(securecookie.NopEncoder{}) // the cookie carries the id's bytes
	var mu sync.Mutex
	accepted := map[statelab.Variant]int{}
	r.EachUser(func(u *scenarios.User) {
		var ok bool
		switch u.Variant {
		case statelab.JWT:
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, forgedClaims{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: statelab.Issuer, Audience: jwt.ClaimStrings{statelab.Audience}, Subject: u.Name,
					IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
				},
				SID: "forged", Cart: []statelab.Item{{Item: "forged", Qty: 1}},
			})
			tok.Header["kid"] = "b"
			signed, err := tok.SignedString([]byte(rotationKeyB))
			if err == nil {
				ok, _ = u.As(r.Context(), "", "", signed)
			}
		default:
			name := u.SessionCookie()
			value, err := securecookie.EncodeMulti(name, []byte(rand.Text()), codec)
			if err == nil {
				ok, _ = u.As(r.Context(), name, value, "")
			}
		}
		if ok {
			mu.Lock()
			accepted[u.Variant]++
			mu.Unlock()
		}
	})
	if err := r.Context().Err(); err != nil {
		return err
	}
	r.Fact("users", len(r.Users[statelab.JWT]))
	for _, v := range statelab.Variants {
		r.Fact("forged "+string(v), accepted[v])
		r.Note("%s: %d of %d forged credentials taken for the user they name", v, accepted[v], len(r.Users[v]))
	}
	return nil
}

func forgeries(v statelab.Variant, taken bool) scenarios.Expectation {
	text := "takes no forged credential: a signed id must also name a session it holds"
	if taken {
		text = "takes a token minted with its key for any user: the key is the identity"
	}
	return scenarios.Expectation{Variant: v, Text: text, Check: func(res *scenarios.Result) (bool, string) {
		n, _ := res.Facts["forged "+string(v)].(int)
		users, _ := res.Facts["users"].(int)
		holds := n == 0
		if taken {
			holds = users > 0 && n == users
		}
		return holds, fmt.Sprintf("%d of %d forgeries taken", n, users)
	}}
}

// forgedClaims are what an attacker puts in a token: the claims any
// statelab token carries, read off one (base64 is not encryption).
type forgedClaims struct {
	jwt.RegisteredClaims
	SID  string          `json:"sid"`
	Cart []statelab.Item `json:"cart"`
}
