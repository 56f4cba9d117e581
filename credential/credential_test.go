package credential

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/securecookie"

	"statelab"
)

var key = []byte("credential-test-key-0123456789abcdef")

func TestCodecs(t *testing.T) {
	want := Session{User: "alice", Cart: []statelab.Item{{Item: "tea", Qty: 2}}, Since: 1700000000}
	value, err := securecookie.EncodeMulti("statelab_session", want, SessionCodec(key))
	if err != nil {
		t.Fatal(err)
	}
	var got Session
	if err := securecookie.DecodeMulti("statelab_session", value, &got, SessionCodec(key)); err != nil || got.User != want.User || got.Cart[0] != want.Cart[0] {
		t.Errorf("session cookie round trip: %+v, %v", got, err)
	}
	if err := securecookie.DecodeMulti("statelab_session", value, &got, SessionCodec([]byte("another-key-0123456789abcdef0123"))); err == nil {
		t.Error("a session cookie read with another key")
	}
	sign, enc := CookieKeys(key)
	if string(sign) == string(enc) || len(sign) != 32 {
		t.Error("the cookie variant's two keys are not two 32-byte keys")
	}

	id, err := securecookie.EncodeMulti("statelab_session", []byte("an-id"), IDCodec(key))
	if err != nil {
		t.Fatal(err)
	}
	var back []byte
	if err := securecookie.DecodeMulti("statelab_session", id, &back, IDCodec(key)); err != nil || string(back) != "an-id" {
		t.Errorf("session id round trip: %q, %v", back, err)
	}
}

func TestSignToken(t *testing.T) {
	now := time.Now()
	signed, err := SignToken(Claims{RegisteredClaims: NewClaims("bob", "t1", now, time.Minute), SID: "s1"}, "a", key)
	if err != nil {
		t.Fatal(err)
	}
	var c Claims
	tok, err := jwt.ParseWithClaims(signed, &c, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != "a" {
			t.Errorf("kid %v", tok.Header["kid"])
		}
		return key, nil
	}, jwt.WithIssuer(statelab.Issuer), jwt.WithAudience(statelab.Audience), jwt.WithValidMethods([]string{"HS256"}))
	if err != nil || !tok.Valid || c.Subject != "bob" || c.SID != "s1" {
		t.Errorf("token: %+v, %v", c, err)
	}
}
