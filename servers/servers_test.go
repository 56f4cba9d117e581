package servers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"statelab"
	"statelab/internal/failover"
	"statelab/internal/labredis"
	"statelab/internal/redisserver"
	"statelab/internal/redistest"
	"statelab/servers"
)

// instance starts one server instance behind httptest.
func instance(t *testing.T, cfg servers.Config) *httptest.Server {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = string(cfg.Variant) + "-1"
	}
	srv, err := servers.New(cfg)
	if err != nil {
		t.Fatalf("servers.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts
}

// user is a client that holds its cookies and token like a browser or an app.
type user struct {
	t     *testing.T
	c     *http.Client
	token string
}

func newUser(t *testing.T) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, c: &http.Client{Jar: jar, Timeout: 5 * time.Second}}
}

type result struct {
	status   int
	instance string
	body     statelab.Body
	raw      string
	// setCookie is the response's Set-Cookie headers, joined.
	setCookie string
}

// cookies is what the user's jar holds for base.
func (u *user) cookies(base string) []*http.Cookie {
	req, _ := http.NewRequest("GET", base, nil)
	return u.c.Jar.Cookies(req.URL)
}

// setCookies puts cookies back in the user's jar for base.
func (u *user) setCookies(base string, cs []*http.Cookie) {
	req, _ := http.NewRequest("GET", base, nil)
	u.c.Jar.SetCookies(req.URL, cs)
}

func (u *user) do(method, url string, body any) result {
	u.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		u.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, instance: resp.Header.Get(statelab.InstanceHeader), raw: string(raw), setCookie: strings.Join(resp.Header.Values("Set-Cookie"), "\n")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			u.t.Fatalf("%s %s: body %q: %v", method, url, raw, err)
		}
	}
	if r.body.Token != "" {
		u.token = r.body.Token
	}
	return r
}

func (u *user) login(base, name string) result {
	u.t.Helper()
	return u.do("POST", base+"/login", map[string]string{"user": name, "password": "statelab"})
}

func want(t *testing.T, what string, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d (body %s)", what, r.status, status, r.raw)
	}
}

// configs returns a config per variant; the redis one needs a real Redis.
func configs(t *testing.T) map[statelab.Variant]servers.Config {
	rs := redistest.Start(t, redisserver.Options{})
	return map[statelab.Variant]servers.Config{
		statelab.Memory: {Variant: statelab.Memory},
		statelab.Redis:  {Variant: statelab.Redis, RedisAddr: rs.Addr},
		statelab.JWT:    {Variant: statelab.JWT},
		statelab.Cookie: {Variant: statelab.Cookie},
	}
}

// TestUserJourney: log in, add to the cart, read it back, log out, for each
// variant; after logout memory and redis refuse the old credential (401)
// while jwt and cookie, by design, still accept it (200).
func TestUserJourney(t *testing.T) {
	cfgs := configs(t)
	for _, v := range statelab.Variants {
		t.Run(string(v), func(t *testing.T) {
			base := instance(t, cfgs[v]).URL
			u := newUser(t)
			r := u.login(base, "alice")
			want(t, "login", r, 200)
			if r.body.User != "alice" || r.body.Instance != string(v)+"-1" || r.body.Variant != string(v) || r.instance != string(v)+"-1" {
				t.Fatalf("login body = %+v, header instance %q", r.body, r.instance)
			}
			if v == statelab.Cookie && len(r.setCookie) < 200 {
				t.Fatalf("login set %q; want the whole session in a cookie", r.setCookie)
			}
			if (v == statelab.JWT) != (r.body.Token != "") {
				t.Fatalf("login token = %q; want a token only for jwt", r.body.Token)
			}
			want(t, "add apple", u.do("POST", base+"/cart", map[string]any{"item": "apple", "qty": 2}), 200)
			r = u.do("POST", base+"/cart", map[string]any{"item": "pear", "qty": 1})
			want(t, "add pear", r, 200)
			wantCart := []statelab.Item{{Item: "apple", Qty: 2}, {Item: "pear", Qty: 1}}
			for _, path := range []string{"/me", "/cart"} {
				r = u.do("GET", base+path, nil)
				want(t, path, r, 200)
				if !equalCart(r.body.Cart, wantCart) {
					t.Fatalf("%s cart = %v, want %v", path, r.body.Cart, wantCart)
				}
			}
			if r := u.do("GET", base+"/me", nil); r.body.User != "alice" {
				t.Fatalf("/me user = %q", r.body.User)
			}
			old, oldCookies := u.token, u.cookies(base)
			r = u.do("POST", base+"/logout", nil)
			want(t, "logout", r, 200)
			if len(u.cookies(base)) != 0 && v != statelab.JWT {
				t.Fatalf("cookies after logout: %v", u.cookies(base))
			}
			// Replay what the client held before logging out.
			u.token = old
			u.setCookies(base, oldCookies)
			after := 401
			if v == statelab.JWT || v == statelab.Cookie {
				after = 200
			}
			want(t, "/me after logout", u.do("GET", base+"/me", nil), after)
		})
	}
}

func equalCart(a, b []statelab.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTwoInstances: redis instances share a session; memory instances do
// not; jwt instances with the same key both accept a token.
func TestTwoInstances(t *testing.T) {
	cfgs := configs(t)
	for _, tc := range []struct {
		v      statelab.Variant
		second int
	}{
		{statelab.Memory, 401},
		{statelab.Redis, 200},
		{statelab.JWT, 200},
		{statelab.Cookie, 200},
	} {
		t.Run(string(tc.v), func(t *testing.T) {
			c1, c2 := cfgs[tc.v], cfgs[tc.v]
			c1.Name, c2.Name = string(tc.v)+"-1", string(tc.v)+"-2"
			a, b := instance(t, c1), instance(t, c2)
			u := newUser(t)
			want(t, "login on 1", u.login(a.URL, "bob"), 200)
			want(t, "add on 1", u.do("POST", a.URL+"/cart", map[string]any{"item": "fig", "qty": 3}), 200)
			// The cookie jar is per host:port; carry the cookie over as a
			// balancer in front of both would.
			moveCookies(t, u, a.URL, b.URL)
			r := u.do("GET", b.URL+"/me", nil)
			want(t, "/me on 2", r, tc.second)
			if r.instance != c2.Name {
				t.Errorf("answered by %q, want %q", r.instance, c2.Name)
			}
			if tc.second == 200 && !equalCart(r.body.Cart, []statelab.Item{{Item: "fig", Qty: 3}}) {
				t.Errorf("cart on 2 = %v", r.body.Cart)
			}
		})
	}
}

func moveCookies(t *testing.T, u *user, from, to string) {
	t.Helper()
	fu, _ := http.NewRequest("GET", from, nil)
	tu, _ := http.NewRequest("GET", to, nil)
	u.c.Jar.SetCookies(tu.URL, u.c.Jar.Cookies(fu.URL))
}

// TestForgedCredentials: every credential the server did not issue, or no
// longer accepts, is a 401 and never a 500.
func TestForgedCredentials(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	jwtCfg := servers.Config{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}}}, Now: clock, TokenTTL: time.Minute}
	ts := instance(t, jwtCfg)
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "carol"), 200)
	good := u.token

	sign := func(method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "statelab", "aud": "statelab", "sub": "mallory", "sid": "x", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "cart": []any{}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	parts := strings.Split(good, ".")
	tamperedPayload := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)

	for _, tc := range []struct{ name, token string }{
		{"tampered signature", good[:len(good)-3] + "AAA"},
		{"tampered payload", tamperedPayload},
		{"other key", sign(jwt.SigningMethodHS256, "k1", []byte("another-secret-that-is-long-enough-0123"), claims(nil))},
		{"unknown kid", sign(jwt.SigningMethodHS256, "k9", []byte("0123456789abcdef0123456789abcdef"), claims(nil))},
		{"no kid", sign(jwt.SigningMethodHS256, "", []byte("0123456789abcdef0123456789abcdef"), claims(nil))},
		{"alg none", none},
		{"HS512 with the right key", sign(jwt.SigningMethodHS512, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(nil))},
		{"expired", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Second).Unix() }))},
		{"no expiry", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { delete(c, "exp") }))},
		{"wrong issuer", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { c["iss"] = "elsewhere" }))},
		{"wrong audience", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { c["aud"] = "elsewhere" }))},
		{"issued in the future", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() }))},
		{"cart of the wrong type", sign(jwt.SigningMethodHS256, "k1", []byte("0123456789abcdef0123456789abcdef"), claims(func(c jwt.MapClaims) { c["cart"] = "lots" }))},
		{"garbage", "not.a.token"},
		{"empty segments", ".."},
	} {
		t.Run("jwt/"+tc.name, func(t *testing.T) {
			f := newUser(t)
			f.token = tc.token
			want(t, tc.name, f.do("GET", ts.URL+"/me", nil), 401)
		})
	}
	t.Run("jwt/expires with time", func(t *testing.T) {
		now = now.Add(2 * time.Minute)
		defer func() { now = now.Add(-2 * time.Minute) }()
		want(t, "expired by the clock", u.do("GET", ts.URL+"/me", nil), 401)
	})

	mem := instance(t, servers.Config{Variant: statelab.Memory})
	v := newUser(t)
	want(t, "login", v.login(mem.URL, "dave"), 200)
	memURL, _ := http.NewRequest("GET", mem.URL, nil)
	cookie := v.c.Jar.Cookies(memURL.URL)[0].Value
	otherKey := instance(t, servers.Config{Variant: statelab.Memory, Keys: statelab.Keys{Cookie: [][]byte{[]byte("a-different-cookie-key-0123456789ab")}}})
	o := newUser(t)
	want(t, "login elsewhere", o.login(otherKey.URL, "dave"), 200)
	otherURL, _ := http.NewRequest("GET", otherKey.URL, nil)
	foreign := o.c.Jar.Cookies(otherURL.URL)[0].Value
	for _, tc := range []struct{ name, cookie string }{
		{"tampered", cookie[:len(cookie)-4] + "AAAA"},
		{"truncated", cookie[:len(cookie)/2]},
		{"signed with another key", foreign},
		{"garbage", "garbage"},
		{"huge", strings.Repeat("A", 8000)},
	} {
		t.Run("cookie/"+tc.name, func(t *testing.T) {
			if got := meWithCookie(t, mem.URL, tc.cookie); got != 401 {
				t.Fatalf("status %d, want 401", got)
			}
		})
	}
}

// meWithCookie asks base's GET /me with one session cookie and returns the
// status.
func meWithCookie(t *testing.T, base, value string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/me", nil)
	req.AddCookie(&http.Cookie{Name: statelab.SessionCookie, Value: value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBadInput: malformed or invalid input is a 4xx with a JSON error.
func TestBadInput(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Memory})
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "erin"), 200)
	for _, tc := range []struct {
		name, method, path string
		body               string
		status             int
	}{
		{"malformed JSON", "POST", "/login", `{"user":`, 400},
		{"not an object", "POST", "/login", `[1,2]`, 400},
		{"empty body", "POST", "/login", ``, 400},
		{"trailing data", "POST", "/login", `{"user":"a","password":"statelab"} {}`, 400},
		{"unknown field", "POST", "/login", `{"user":"a","pasword":"statelab"}`, 400},
		{"missing user", "POST", "/login", `{"password":"statelab"}`, 400},
		{"user too long", "POST", "/login", `{"user":"` + strings.Repeat("x", 65) + `","password":"statelab"}`, 400},
		{"control character", "POST", "/login", `{"user":"a\u0007b","password":"statelab"}`, 400},
		{"wrong password", "POST", "/login", `{"user":"a","password":"nope"}`, 401},
		{"qty as string", "POST", "/cart", `{"item":"apple","qty":"two"}`, 400},
		{"qty zero", "POST", "/cart", `{"item":"apple","qty":0}`, 400},
		{"qty negative", "POST", "/cart", `{"item":"apple","qty":-3}`, 400},
		{"qty too big", "POST", "/cart", `{"item":"apple","qty":100}`, 400},
		{"qty fractional", "POST", "/cart", `{"item":"apple","qty":1.5}`, 400},
		{"qty huge", "POST", "/cart", `{"item":"apple","qty":1e40}`, 400},
		{"item missing", "POST", "/cart", `{"qty":1}`, 400},
		{"item empty", "POST", "/cart", `{"item":"","qty":1}`, 400},
		{"item null", "POST", "/cart", `{"item":null,"qty":1}`, 400},
		{"body too large", "POST", "/cart", `{"item":"` + strings.Repeat("x", statelab.MaxBody) + `","qty":1}`, 413},
		{"wrong method", "DELETE", "/cart", ``, 405},
		{"GET login", "GET", "/login", ``, 405},
		{"unknown path", "GET", "/admin", ``, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := u.do(tc.method, ts.URL+tc.path, tc.body)
			want(t, tc.name, r, tc.status)
			if r.body.Error == "" || r.body.Instance == "" {
				t.Errorf("body %s: want a JSON error naming the instance", r.raw)
			}
		})
	}
	if r := u.do("GET", ts.URL+"/cart", nil); len(r.body.Cart) != 0 {
		t.Errorf("bad requests changed the cart: %v", r.body.Cart)
	}
}

// TestLoginIssuesNewID: logging in replaces the session id, and the old id
// finds nothing afterwards (no session fixation).
func TestLoginIssuesNewID(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Memory})
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "frank"), 200)
	req, _ := http.NewRequest("GET", ts.URL, nil)
	first := u.c.Jar.Cookies(req.URL)[0].Value
	want(t, "login again", u.login(ts.URL, "frank"), 200)
	second := u.c.Jar.Cookies(req.URL)[0].Value
	if first == second {
		t.Fatal("second login kept the session id")
	}
	stale := newUser(t)
	stale.c.Jar.SetCookies(req.URL, []*http.Cookie{{Name: statelab.SessionCookie, Value: first}})
	want(t, "old id", stale.do("GET", ts.URL+"/me", nil), 401)
}

// TestRedisDown: with Redis stopped, the redis variant answers 503 at once,
// never 500 and never a hang; failing open, it answers 401.
// The memory and jwt variants do not care.
func TestRedisDown(t *testing.T) {
	rs := redistest.Start(t, redisserver.Options{})
	closed := instance(t, servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr})
	open := instance(t, servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr, FailOpen: true, Name: "redis-open"})
	u := newUser(t)
	want(t, "login", u.login(closed.URL, "gina"), 200)
	moveCookies(t, u, closed.URL, open.URL)
	want(t, "me (fail open, redis up)", u.do("GET", open.URL+"/me", nil), 200)
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		base                     string
		status                   int
	}{
		{"me", "GET", "/me", "", closed.URL, 503},
		{"add", "POST", "/cart", `{"item":"a","qty":1}`, closed.URL, 503},
		{"login", "POST", "/login", `{"user":"gina","password":"statelab"}`, closed.URL, 503},
		{"logout", "POST", "/logout", "", closed.URL, 503},
		{"stats", "GET", "/stats", "", closed.URL, 503},
		{"healthz", "GET", "/healthz", "", closed.URL, 200},
		{"me, fail open", "GET", "/me", "", open.URL, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := u.do(tc.method, tc.base+tc.path, tc.body)
			took := time.Since(start)
			want(t, tc.name, r, tc.status)
			// A stopped Redis refuses at once; this bound only catches a
			// hang (go-redis's defaults would retry dials for seconds), and
			// is ten times what a loaded machine needs.
			if took > 2*time.Second {
				t.Errorf("took %s with Redis down: a hang", took)
			}
		})
	}
	if err := rs.Restart(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	want(t, "me after Redis came back empty", u.do("GET", closed.URL+"/me", nil), 401)
}

// TestKeyRotation: a session or token made with the old key survives a
// rotation that keeps the old key for verification, and is lost when the old
// key is dropped. The cookie case uses the redis variant, whose sessions
// outlive the instances that are restarted with new keys.
func TestKeyRotation(t *testing.T) {
	rs := redistest.Start(t, redisserver.Options{})
	oldK, newK := []byte("old-key-0123456789-0123456789abcd"), []byte("new-key-0123456789-0123456789abcd")
	for _, tc := range []struct {
		name               string
		before, kept, lost servers.Config
	}{
		{"cookie",
			servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr, Keys: statelab.Keys{Cookie: [][]byte{oldK}}},
			servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr, Keys: statelab.Keys{Cookie: [][]byte{newK, oldK}}},
			servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr, Keys: statelab.Keys{Cookie: [][]byte{newK}}}},
		{"whole cookie",
			servers.Config{Variant: statelab.Cookie, Keys: statelab.Keys{Cookie: [][]byte{oldK}}},
			servers.Config{Variant: statelab.Cookie, Keys: statelab.Keys{Cookie: [][]byte{newK, oldK}}},
			servers.Config{Variant: statelab.Cookie, Keys: statelab.Keys{Cookie: [][]byte{newK}}}},
		{"jwt",
			servers.Config{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k1", Secret: oldK}}}},
			servers.Config{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k2", Secret: newK}, {ID: "k1", Secret: oldK}}}},
			servers.Config{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k2", Secret: newK}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, kept, lost := instance(t, tc.before), instance(t, tc.kept), instance(t, tc.lost)
			u := newUser(t)
			want(t, "login", u.login(before.URL, "hank"), 200)
			moveCookies(t, u, before.URL, kept.URL)
			moveCookies(t, u, before.URL, lost.URL)
			want(t, "old key dropped", u.do("GET", lost.URL+"/me", nil), 401)
			want(t, "old key kept", u.do("GET", kept.URL+"/me", nil), 200)
			r := u.do("POST", kept.URL+"/cart", map[string]any{"item": "kiwi", "qty": 1})
			want(t, "re-signed with the new key", r, 200)
			moveCookies(t, u, kept.URL, lost.URL)
			want(t, "new credential, new key only", u.do("GET", lost.URL+"/me", nil), 200)
		})
	}
}

// TestDenylist: with the denylist on, a logged-out token is refused by every
// instance, including tokens issued earlier in the same login.
func TestDenylist(t *testing.T) {
	rs := redistest.Start(t, redisserver.Options{})
	cfg := servers.Config{Variant: statelab.JWT, Denylist: true, RedisAddr: rs.Addr}
	a, b := instance(t, cfg), instance(t, cfg)
	u := newUser(t)
	want(t, "login", u.login(a.URL, "ivy"), 200)
	first := u.token
	want(t, "add", u.do("POST", a.URL+"/cart", map[string]any{"item": "lime", "qty": 1}), 200)
	r := u.do("POST", a.URL+"/logout", nil)
	want(t, "logout", r, 200)
	if r.body.Revoked == nil || !*r.body.Revoked {
		t.Fatalf("logout body %s: want revoked true", r.raw)
	}
	for _, tok := range []string{u.token, first} {
		u.token = tok
		want(t, "replay on the other instance", u.do("GET", b.URL+"/me", nil), 401)
	}
	var st statelab.Stats
	if err := json.Unmarshal([]byte(newUser(t).do("GET", a.URL+"/stats", nil).raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.Store == nil || st.Store.Sessions != 1 || st.Sessions != 0 {
		t.Fatalf("stats = %+v, store %+v; want 1 revoked login in Redis, nothing in the instance", st, st.Store)
	}
}

// TestStats: /stats says what each instance holds: the memory instance holds
// the sessions, the redis instance holds nothing (Redis does), jwt nothing.
func TestStats(t *testing.T) {
	cfgs := configs(t)
	for _, tc := range []struct {
		v             statelab.Variant
		local, shared int64
	}{{statelab.Memory, 3, -1}, {statelab.Redis, 0, 3}, {statelab.JWT, 0, -1}, {statelab.Cookie, 0, -1}} {
		t.Run(string(tc.v), func(t *testing.T) {
			ts := instance(t, cfgs[tc.v])
			for _, name := range []string{"a", "b", "c"} {
				want(t, "login", newUser(t).login(ts.URL, name), 200)
			}
			var st statelab.Stats
			if err := json.Unmarshal([]byte(newUser(t).do("GET", ts.URL+"/stats", nil).raw), &st); err != nil {
				t.Fatal(err)
			}
			if st.Sessions != tc.local || (tc.local > 0) != (st.Bytes > 0) || st.Requests != 3 {
				t.Errorf("stats = %+v, want %d local sessions and 3 requests", st, tc.local)
			}
			if (st.Store != nil) != (tc.shared >= 0) || (st.Store != nil && st.Store.Sessions != tc.shared) {
				t.Errorf("store stats = %+v, want %d", st.Store, tc.shared)
			}
			// /healthz tells the balancer what memory holds, and nothing
			// for the others (their count is in Redis or nowhere).
			h := newUser(t).do("GET", ts.URL+"/healthz", nil).body.Sessions
			if (h != nil) != (tc.v == statelab.Memory) || (h != nil && *h != tc.local) {
				t.Errorf("healthz sessions = %v, want %d for memory only", h, tc.local)
			}
		})
	}
}

// TestPage: the page for people names the variant and instance, for each variant.
func TestPage(t *testing.T) {
	for _, v := range statelab.Variants {
		ts := instance(t, servers.Config{Variant: v, Name: "inst-7"})
		r := newUser(t).do("GET", ts.URL+"/", nil)
		want(t, "page", r, 200)
		// No page of another site (or port) may frame it, and no script but
		// its own runs in it.
		resp, err := http.Get(ts.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		policy := resp.Header.Get("Content-Security-Policy")
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(policy, "frame-ancestors 'none'") || !strings.Contains(policy, "script-src 'sha256-") || strings.Contains(policy, "script-src 'unsafe-inline'") {
			t.Errorf("%s page headers: X-Frame-Options %q, CSP %q", v, resp.Header.Get("X-Frame-Options"), policy)
		}
		for _, s := range []string{"inst-7", ">" + string(v) + "</span> variant", "/login"} {
			if !strings.Contains(r.raw, s) {
				t.Errorf("%s page lacks %q", v, s)
			}
		}
		if got := strings.Contains(r.raw, "the servers keep nothing"); got != (v == statelab.JWT || v == statelab.Cookie) {
			t.Errorf("%s page: says the servers keep nothing = %v", v, got)
		}
	}
}

// TestCookieName: the session cookie's name is configurable, so that two
// variants on one host can share a browser; a bad name is refused.
func TestCookieName(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Memory, CookieName: "statelab_session_memory"})
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "jo"), 200)
	req, _ := http.NewRequest("GET", ts.URL, nil)
	if cs := u.c.Jar.Cookies(req.URL); len(cs) != 1 || cs[0].Name != "statelab_session_memory" {
		t.Fatalf("cookies %v, want statelab_session_memory", cs)
	}
	want(t, "me", u.do("GET", ts.URL+"/me", nil), 200)
	if _, err := servers.New(servers.Config{Variant: statelab.Memory, CookieName: "bad name;"}); err == nil {
		t.Fatal("a cookie name with a space and a semicolon was accepted")
	}
}

// TestReloadKeys: keys come from a keys file, read again on Reload, so
// keys rotate without a restart and sessions in memory survive it.
func TestReloadKeys(t *testing.T) {
	for _, tc := range []struct {
		v                  statelab.Variant
		first, both, later string
	}{
		{statelab.Memory, "STATELAB_COOKIE_KEYS=key-A-0123456789-0123456789abcdef", "STATELAB_COOKIE_KEYS=key-B-0123456789-0123456789abcdef,key-A-0123456789-0123456789abcdef", "STATELAB_COOKIE_KEYS=key-B-0123456789-0123456789abcdef"},
		{statelab.JWT, "STATELAB_JWT_KEYS=a:key-A-0123456789-0123456789abcdef", "STATELAB_JWT_KEYS=b:key-B-0123456789-0123456789abcdef,a:key-A-0123456789-0123456789abcdef", "STATELAB_JWT_KEYS=b:key-B-0123456789-0123456789abcdef"},
	} {
		t.Run(string(tc.v), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "keys.env")
			write := func(s string) {
				if err := os.WriteFile(file, []byte("# rotated by the test\n"+s+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write(tc.first)
			srv, err := servers.New(servers.Config{Variant: tc.v, Name: "k", KeysFile: file})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer func() { ts.Close(); srv.Close() }()
			u := newUser(t)
			want(t, "login", u.login(ts.URL, "kim"), 200)
			for i, step := range []struct {
				file   string
				status int
			}{{tc.both, 200}, {tc.later, 401}, {tc.first, 200}} {
				write(step.file)
				if err := srv.Reload(); err != nil {
					t.Fatal(err)
				}
				want(t, fmt.Sprintf("reload %d", i+1), u.do("GET", ts.URL+"/me", nil), step.status)
			}
			h := newUser(t).do("GET", ts.URL+"/healthz", nil)
			if h.body.Reloads != 3 || !strings.Contains(h.body.Keys, "(signs)") {
				t.Errorf("healthz after 3 reloads: %s", h.raw)
			}
			write("STATELAB_COOKIE_KEYS=short")
			if err := srv.Reload(); err == nil {
				t.Error("a keys file with a short key was accepted")
			}
			want(t, "after a failed reload, the keys in force stay", u.do("GET", ts.URL+"/me", nil), 200)
			os.Remove(file)
			if err := srv.Reload(); err != nil {
				t.Fatal(err)
			}
			want(t, "without the file, the configured (demo) keys", u.do("GET", ts.URL+"/me", nil), 401)
		})
	}
}

// TestResetSaysSo: a session that vanished because the lab emptied Redis
// is answered 401 with the time of the reset, not only "no session with
// this id"; a memory instance says when it started, the oldest a session
// it holds can be.
func TestResetSaysSo(t *testing.T) {
	rs := redistest.Start(t, redisserver.Options{})
	for _, tc := range []struct {
		v    statelab.Variant
		cfg  servers.Config
		want string
	}{
		{statelab.Redis, servers.Config{Variant: statelab.Redis, RedisAddr: rs.Addr}, "The lab was last reset at "},
		{statelab.Memory, servers.Config{Variant: statelab.Memory}, "created before this instance started at "},
	} {
		t.Run(string(tc.v), func(t *testing.T) {
			a := instance(t, tc.cfg)
			u := newUser(t)
			want(t, "login", u.login(a.URL, "bob"), 200)
			if tc.v == statelab.Redis {
				if err := labredis.Flush(context.Background(), rs.Addr); err != nil {
					t.Fatal(err)
				}
			} else {
				b := instance(t, tc.cfg) // the instance restarted: another process, no session
				moveCookies(t, u, a.URL, b.URL)
				a = b
			}
			r := u.do("GET", a.URL+"/me", nil)
			want(t, "/me after the reset", r, 401)
			if !strings.Contains(string(r.raw), tc.want) || !strings.Contains(string(r.raw), " UTC") {
				t.Errorf("/me after the reset says %s; want it to contain %q", r.raw, tc.want)
			}
		})
	}
	if keys, _, err := labredis.Stats(context.Background(), rs.Addr); err != nil || keys != 0 {
		t.Errorf("the reset's mark counted as a record: %d keys, %v", keys, err)
	}
}

// TestAnswerDelay: a slow instance (Config.AnswerDelay) holds every
// request of a user, never its health check or /stats, and lets go of a
// request whose client gave up; a delay past the bound is refused.
func TestAnswerDelay(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.JWT, AnswerDelay: servers.MaxAnswerDelay})
	for _, path := range []string{"/healthz", "/stats"} {
		r, err := http.Get(ts.URL + path)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s on a slow instance: %v %v", path, r, err)
		}
		r.Body.Close()
	}
	// A user's request waits for the delay (10 s): a client that waits
	// 100 ms gets nothing, and the instance does not keep the request.
	c := &http.Client{Timeout: 100 * time.Millisecond}
	if r, err := c.Get(ts.URL + "/me"); err == nil {
		r.Body.Close()
		t.Fatalf("GET /me answered %s before the delay", r.Status)
	}
	if _, err := servers.New(servers.Config{Variant: statelab.JWT, AnswerDelay: servers.MaxAnswerDelay + time.Second}); err == nil || !strings.Contains(err.Error(), "answer delay") {
		t.Errorf("a delay past the bound: %v", err)
	}
}

// TestRedisFailoverConfig: what an instance is told about Sentinels and
// WAIT is checked before it starts: a malformed address, too many
// Sentinels, a wait out of range are refused with the setting named.
func TestRedisFailoverConfig(t *testing.T) {
	many := make([]string, 17)
	for i := range many {
		many[i] = "127.0.0.1:26379"
	}
	for _, tc := range []struct {
		name string
		cfg  servers.Config
		want string
	}{
		{"no port", servers.Config{Sentinels: []string{"127.0.0.1"}}, "Sentinel address"},
		{"no host", servers.Config{Sentinels: []string{":26379"}}, "Sentinel address"},
		{"a URL", servers.Config{Sentinels: []string{"redis://127.0.0.1:26379"}}, "Sentinel address"},
		{"too many", servers.Config{Sentinels: many}, "at most 16"},
		{"a negative wait", servers.Config{RedisWait: -time.Second}, "redis wait"},
		{"a wait past the bound", servers.Config{RedisWait: servers.MaxRedisWait + time.Second}, "redis wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Variant = statelab.Redis
			srv, err := servers.New(tc.cfg)
			if err == nil {
				srv.Close()
				t.Fatalf("accepted; want an error saying %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v; want it to say %q", err, tc.want)
			}
		})
	}
}

// TestRedisWaitThroughSentinel: a redis instance that finds the primary
// through Sentinel and WAITs for the replica serves a login and a write
// while the replica keeps up; while the replication link stalls, a write
// is refused with 503 and says why, instead of being acknowledged.
func TestRedisWaitThroughSentinel(t *testing.T) {
	set, err := failover.Start(context.Background(), failover.Options{})
	if errors.Is(err, failover.ErrNotFound) {
		redistest.Absent(t, "redis-server is not on PATH (apt-get install redis-server)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	ts := instance(t, servers.Config{Variant: statelab.Redis, Sentinels: set.SentinelAddrs(), RedisWait: 500 * time.Millisecond, RedisTimeout: time.Second})
	u := newUser(t)
	if r := u.do("POST", ts.URL+"/login", statelab.Login{User: "alice", Password: statelab.DemoPassword}); r.status != 200 {
		t.Fatalf("login through Sentinel: %d %s", r.status, r.raw)
	}
	if r := u.do("POST", ts.URL+"/cart", statelab.Item{Item: "fig", Qty: 1}); r.status != 200 {
		t.Fatalf("a write the replica can acknowledge: %d %s", r.status, r.raw)
	}
	set.Stall(true)
	r := u.do("POST", ts.URL+"/cart", statelab.Item{Item: "lime", Qty: 1})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.raw, "no replica acknowledged") {
		t.Fatalf("a write while the link stalls: %d %s; want 503 saying no replica acknowledged it", r.status, r.raw)
	}
	set.Stall(false)
}
