package servers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"statelab"
	"statelab/servers"
)

// TestCookieTooLarge: the cookie variant's cart grows until its cookie
// would pass the 4096 bytes a browser keeps; then the change is refused
// (413, with the size in a header and in words), no cookie is sent, and
// the cookie the client holds still carries the cart as it was.
func TestCookieTooLarge(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Cookie})
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "olga"), 200)
	var cart []statelab.Item
	for i := 1; i <= statelab.MaxCartLines; i++ {
		item := fmt.Sprintf("item-%03d", i)
		req, _ := http.NewRequest("POST", ts.URL+"/cart", strings.NewReader(`{"item":"`+item+`","qty":1}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := u.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b statelab.Body
		json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		for _, sc := range resp.Header.Values("Set-Cookie") {
			if len(strings.SplitN(sc, ";", 2)[0]) > statelab.MaxCookieBytes {
				t.Fatalf("item %d: a Set-Cookie of %d bytes", i, len(sc))
			}
		}
		if resp.StatusCode == 200 {
			cart = append(cart, statelab.Item{Item: item, Qty: 1})
			continue
		}
		if resp.StatusCode != 413 {
			t.Fatalf("item %d: status %d (%s), want 200 or 413", i, resp.StatusCode, b.Error)
		}
		size, err := strconv.Atoi(resp.Header.Get(statelab.CookieTooLargeHeader))
		if err != nil || size <= statelab.MaxCookieBytes {
			t.Fatalf("item %d: %s = %q, want a size over %d", i, statelab.CookieTooLargeHeader, resp.Header.Get(statelab.CookieTooLargeHeader), statelab.MaxCookieBytes)
		}
		if !strings.Contains(b.Error, strconv.Itoa(size)+" bytes") || !strings.Contains(b.Error, "4096") {
			t.Errorf("error %q does not say the size", b.Error)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("a refused change set a cookie")
		}
		r := u.do("GET", ts.URL+"/me", nil)
		want(t, "/me after the refusal", r, 200)
		if !equalCart(r.body.Cart, cart) {
			t.Fatalf("cart after the refusal has %d lines, want the %d saved before", len(r.body.Cart), len(cart))
		}
		if i < 20 || i > 95 {
			t.Errorf("the cookie outgrew 4096 bytes at %d items: the encoding changed", i)
		}
		return
	}
	t.Fatalf("%d items and the cookie never outgrew %d bytes", statelab.MaxCartLines, statelab.MaxCookieBytes)
}

// TestSignedCookieForged: a cookie this server did not make, or one that
// was altered, is a 401; so is one made with the key but holding no valid
// session. The server holds nothing, so the cookie is all there is to
// check.
func TestSignedCookieForged(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Cookie})
	other := instance(t, servers.Config{Variant: statelab.Cookie, Keys: statelab.Keys{Cookie: [][]byte{[]byte("a-different-cookie-key-0123456789ab")}}})
	value := func(base string) string {
		u := newUser(t)
		want(t, "login", u.login(base, "erin"), 200)
		return u.cookies(base)[0].Value
	}
	good, foreign := value(ts.URL), value(other.URL)
	for _, tc := range []struct{ name, cookie string }{
		{"tampered", good[:len(good)-4] + "AAAA"},
		{"a byte flipped in the middle", good[:len(good)/2] + string(good[len(good)/2]^1) + good[len(good)/2+1:]},
		{"truncated", good[:len(good)/2]},
		{"made with another key", foreign},
		{"garbage", "garbage"},
		{"huge", strings.Repeat("A", 8000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := meWithCookie(t, ts.URL, tc.cookie); got != 401 {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
	t.Run("the genuine cookie", func(t *testing.T) {
		if got := meWithCookie(t, ts.URL, good); got != 200 {
			t.Fatalf("status %d, want 200", got)
		}
	})
}

// TestSessionsSlide: memory, redis and cookie sessions live SessionTTL
// after their last use, so an active user stays logged in past it and an
// idle one is logged out; a token lives TokenTTL from its issue, however
// active its user. Real time, since the stores' clocks are the real one:
// a two-second life, asked every 250 ms. A session that renews once half
// its life has passed survives whenever no gap between two requests is
// longer than that half; a run in which the machine held the user back
// longer proves nothing, and is made again (three times at most).
func TestSessionsSlide(t *testing.T) {
	cfgs := configs(t)
	const ttl = 2 * time.Second
	for _, v := range statelab.Variants {
		t.Run(string(v), func(t *testing.T) {
			t.Parallel()
			cfg := cfgs[v]
			cfg.SessionTTL, cfg.TokenTTL = ttl, ttl
			ts := instance(t, cfg)
			for attempt := 1; ; attempt++ {
				u := newUser(t)
				want(t, "login", u.login(ts.URL, "sam"), 200)
				start := time.Now()
				last, gap := start, time.Duration(0)
				refused := time.Duration(0)
				for time.Since(start) < ttl+ttl/2 && refused == 0 {
					sent := time.Now()
					gap = max(gap, sent.Sub(last))
					r := u.do("GET", ts.URL+"/me", nil)
					last = time.Now()
					if r.status == 401 {
						refused = time.Since(start)
					}
					time.Sleep(250 * time.Millisecond) // the user's pace, not a wait for the server
				}
				if v == statelab.JWT {
					if refused == 0 {
						t.Fatalf("a %s token was still taken %s after it was issued", ttl, time.Since(start).Round(time.Millisecond))
					}
					return
				}
				if refused > 0 && gap > ttl/2 && attempt < 3 {
					t.Logf("the machine held the user back %s between two requests, past half a session's life: again", gap.Round(time.Millisecond))
					continue
				}
				if refused > 0 {
					t.Fatalf("an active user was logged out after %s (longest gap between its requests %s); its session should slide", refused.Round(time.Millisecond), gap.Round(time.Millisecond))
				}
				// The user's idleness is what is under test: any request
				// would renew the session, so the test can only wait.
				time.Sleep(ttl + 1100*time.Millisecond)
				if r := u.do("GET", ts.URL+"/me", nil); r.status != 401 {
					t.Fatalf("an idle session still served %s after its last use: %d", ttl+1100*time.Millisecond, r.status)
				}
				return
			}
		})
	}
}
