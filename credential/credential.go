// Package credential is what a client holds, in the lab's formats: the
// signed session id of the memory and redis variants, the jwt variant's
// token and its claims, and the cookie variant's whole session; with the
// codecs that write and read them. The servers use it, and so does the
// scenario that forges credentials with a stolen key: a format renamed
// here is renamed for both, so a forgery is never refused for a wrong
// reason.
package credential

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"

	"statelab"
)

// Session is what the application knows of a logged-in user: what the
// memory and redis variants keep on the server, and what the cookie
// variant's cookie carries whole.
type Session struct {
	User string          `json:"user"`
	Cart []statelab.Item `json:"cart"`
	// Since is when the user logged in (unix seconds): a session lives
	// at most Config.SessionLifetime from then, however active.
	Since int64 `json:"since,omitempty"`
	// Saved is when the session was last written (unix milliseconds): a
	// session lives Config.SessionTTL after its last use, and is written
	// again on a read once half of that has passed.
	Saved int64 `json:"saved,omitempty"`
	// Applied are the Idempotency-Keys of the latest cart changes, at most
	// statelab.MaxIdempotencyKeys: a change sent again with one of them is
	// not applied again. They live where the session lives.
	Applied []string `json:"applied,omitempty"`
}

// Claims are what a statelab token carries: identity, the cart, and SID, the
// id of the login the token descends from (what the denylist revokes).
type Claims struct {
	jwt.RegisteredClaims
	SID  string          `json:"sid"`
	Cart []statelab.Item `json:"cart"`
	// Login is when the login the token descends from happened: tokens of
	// a login are refused Config.SessionLifetime after it.
	Login *jwt.NumericDate `json:"login,omitempty"`
	// Applied are the Idempotency-Keys of the latest cart changes.
	Applied []string `json:"applied,omitempty"`
}

// NewClaims are the claims of a token for user, issued at now and valid
// for ttl, with the statelab issuer and audience, which verification
// demands.
func NewClaims(user, id string, now time.Time, ttl time.Duration) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer:    statelab.Issuer,
		Audience:  jwt.ClaimStrings{statelab.Audience},
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID:        id,
	}
}

// SignToken signs claims with HS256 under the key id kid.
func SignToken(c Claims, kid string, secret []byte) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = kid
	return tok.SignedString(secret)
}

// SessionCodec writes and reads the cookie variant's cookie with one
// cookie key: the whole Session as JSON, signed and encrypted with two
// keys derived from it (CookieKeys).
func SessionCodec(key []byte) *securecookie.SecureCookie {
	sc := securecookie.New(CookieKeys(key))
	sc.SetSerializer(securecookie.JSONEncoder{})
	return sc
}

// IDCodec writes and reads the memory and redis variants' cookie with one
// cookie key: the session id's bytes, signed, not encrypted (the id is
// random, not secret).
func IDCodec(key []byte) *securecookie.SecureCookie {
	sc := securecookie.New(key, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	return sc
}

// CookieKeys derives, from one cookie key, the two keys of the cookie
// variant: one signs its cookie (HMAC-SHA256), the other encrypts it
// (AES-256), so that neither key does both jobs.
func CookieKeys(key []byte) (sign, encrypt []byte) {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("statelab cookie variant: " + purpose))
		return m.Sum(nil)
	}
	return derive("sign"), derive("encrypt")
}
