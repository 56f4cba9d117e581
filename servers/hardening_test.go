package servers_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"statelab"
	"statelab/servers"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// server, store and Redis client a test starts must end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handler is an instance's handler, without a listener, and a way to send
// it requests as a client at an address would.
type handler struct {
	t *testing.T
	h http.Handler
}

func newHandler(t *testing.T, cfg servers.Config) *handler {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = string(cfg.Variant) + "-1"
	}
	srv, err := servers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &handler{t: t, h: srv.Handler()}
}

// send serves one request; headers may set Host, RemoteAddr and any header.
func (h *handler) send(method, path, body string, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		switch k {
		case "Host":
			req.Host = v
		case "RemoteAddr":
			req.RemoteAddr = v
		default:
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

var jsonHeaders = map[string]string{"Content-Type": "application/json"}

func login(user string) string { return `{"user":"` + user + `","password":"statelab"}` }

// TestSessionsBounded: a flood of logins never makes a memory instance hold
// more than its bound; the least recently used sessions go, and /stats
// counts them.
func TestSessionsBounded(t *testing.T) {
	h := newHandler(t, servers.Config{Variant: statelab.Memory, MaxSessions: 50, LoginRate: -1})
	var first, kept string
	for i := 0; i < 200; i++ {
		rec := h.send("POST", "/login", login(fmt.Sprintf("flood%03d", i)), jsonHeaders)
		if rec.Code != 200 {
			t.Fatalf("login %d: %d %s", i, rec.Code, rec.Body)
		}
		cookie := rec.Result().Cookies()[0].String()
		switch i {
		case 0:
			first = cookie
		case 170:
			kept = cookie
		}
		if i > 170 && i%5 == 0 { // keep one session in use: it is recently used, not evicted
			h.send("GET", "/me", "", map[string]string{"Cookie": kept})
		}
	}
	var st statelab.Stats
	if err := json.Unmarshal(h.send("GET", "/stats", "", nil).Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Sessions != 50 || st.Evicted != 150 || st.Max != 50 {
		t.Errorf("stats %+v: want 50 sessions held of at most 50, 150 evicted", st)
	}
	if rec := h.send("GET", "/me", "", map[string]string{"Cookie": first}); rec.Code != 401 {
		t.Errorf("the oldest session: %d, want 401 (evicted)", rec.Code)
	}
	if rec := h.send("GET", "/me", "", map[string]string{"Cookie": kept}); rec.Code != 200 {
		t.Errorf("a session in use: %d, want 200 (not evicted)", rec.Code)
	}
}

// TestLoginRateLimit: one client gets its burst of logins, then 429 with
// Retry-After, then one more a second; another client is not held back;
// the balancer's X-Forwarded-For names the client, but only from a
// loopback or private peer.
func TestLoginRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHandler(t, servers.Config{Variant: statelab.JWT, LoginRate: 1, LoginBurst: 3, Now: clock})
	from := func(peer, xff string) map[string]string {
		m := map[string]string{"Content-Type": "application/json", "RemoteAddr": peer}
		if xff != "" {
			m["X-Forwarded-For"] = xff
		}
		return m
	}
	alice := from("127.0.0.1:40000", "203.0.113.7")
	for i := 0; i < 3; i++ {
		if rec := h.send("POST", "/login", login("a"), alice); rec.Code != 200 {
			t.Fatalf("login %d of the burst: %d", i+1, rec.Code)
		}
	}
	rec := h.send("POST", "/login", login("a"), alice)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "too many logins") {
		t.Fatalf("past the burst: %d %q, Retry-After %q; want 429 saying why", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if rec := h.send("POST", "/login", login("b"), from("127.0.0.1:40001", "203.0.113.8")); rec.Code != 200 {
		t.Errorf("another client behind the balancer: %d, want 200", rec.Code)
	}
	// A client that reaches the instance directly cannot claim to be another.
	spoof := from("198.51.100.9:40000", "203.0.113.99")
	for i := 0; i < 3; i++ {
		h.send("POST", "/login", login("c"), spoof)
	}
	if rec := h.send("POST", "/login", login("c"), from("198.51.100.9:40002", "203.0.113.100")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a public peer changing its X-Forwarded-For: %d, want 429 (it is one client)", rec.Code)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if rec := h.send("POST", "/login", login("a"), alice); rec.Code != 200 {
		t.Errorf("a second later: %d, want 200", rec.Code)
	}
}

// TestWritesSameOrigin: a write must be JSON (415 otherwise) from a page
// of the same origin (403 for another port of the same host, a "same
// site" that SameSite=Lax lets cookies through to); the page's own
// requests and clients without Origin pass.
func TestWritesSameOrigin(t *testing.T) {
	for _, v := range []statelab.Variant{statelab.Memory, statelab.JWT, statelab.Cookie} {
		h := newHandler(t, servers.Config{Variant: v})
		rec := h.send("POST", "/login", login("a"), jsonHeaders)
		if rec.Code != 200 {
			t.Fatalf("%s: login: %d", v, rec.Code)
		}
		cred := map[string]string{}
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			cred["Cookie"] = cs[0].String()
		}
		var b statelab.Body
		json.Unmarshal(rec.Body.Bytes(), &b)
		if b.Token != "" {
			cred["Authorization"] = "Bearer " + b.Token
		}
		for _, tc := range []struct {
			name    string
			path    string
			body    string
			headers map[string]string
			want    int
		}{
			{"a form's text/plain", "/cart", `{"item":"x","qty":1}`, map[string]string{"Content-Type": "text/plain"}, 415},
			{"a form's urlencoded body", "/cart", `item=x&qty=1`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
			{"a multipart form", "/login", "--b\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 415},
			{"no content type", "/logout", "", nil, 415},
			{"JSON from another port's page", "/cart", `{"item":"x","qty":1}`, map[string]string{"Content-Type": "application/json", "Origin": "http://localhost:8082", "Host": "localhost:8081"}, 403},
			{"JSON marked same-site", "/logout", `{}`, map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403},
			{"JSON marked cross-site", "/login", login("a"), map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
			{"JSON from this origin's page", "/cart", `{"item":"x","qty":1}`, map[string]string{"Content-Type": "application/json", "Origin": "http://localhost:8081", "Host": "localhost:8081"}, 200},
			{"JSON marked same-origin", "/cart", `{"item":"y","qty":1}`, map[string]string{"Content-Type": "application/json; charset=utf-8", "Sec-Fetch-Site": "same-origin"}, 200},
			{"JSON from a client without Origin", "/cart", `{"item":"z","qty":1}`, jsonHeaders, 200},
		} {
			headers := map[string]string{}
			for k, val := range cred {
				headers[k] = val
			}
			for k, val := range tc.headers {
				headers[k] = val
			}
			if rec := h.send("POST", tc.path, tc.body, headers); rec.Code != tc.want {
				t.Errorf("%s, %s POST %s: %d %s, want %d", v, tc.name, tc.path, rec.Code, rec.Body, tc.want)
			}
		}
	}
}

// TestLimits: every size limit answers in words, with 413, and a jwt
// token is never issued past its limit.
func TestLimits(t *testing.T) {
	h := newHandler(t, servers.Config{Variant: statelab.JWT})
	rec := h.send("POST", "/login", login("a"), jsonHeaders)
	var b statelab.Body
	json.Unmarshal(rec.Body.Bytes(), &b)
	auth := func() map[string]string {
		return map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + b.Token}
	}
	add := func(item string, qty int) *httptest.ResponseRecorder {
		body, _ := json.Marshal(map[string]any{"item": item, "qty": qty})
		rec := h.send("POST", "/cart", string(body), auth())
		if rec.Code == 200 {
			json.Unmarshal(rec.Body.Bytes(), &b)
		}
		return rec
	}
	if rec := add(strings.Repeat("x", statelab.MaxItemLen+1), 1); rec.Code != 413 || !strings.Contains(rec.Body.String(), "longer than") {
		t.Errorf("an item name too long: %d %s, want 413", rec.Code, rec.Body)
	}
	for i := 0; i < statelab.MaxLineQty/99; i++ { // 101 × 99 = 9999, the most a line holds
		if rec := add("apple", 99); rec.Code != 200 {
			t.Fatalf("apple ×99, number %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	if rec := add("apple", 1); rec.Code != 413 || !strings.Contains(rec.Body.String(), "at most 9999") {
		t.Errorf("one apple past 9999: %d %s, want 413", rec.Code, rec.Body)
	}
	// Four-byte characters fill a token before the cart has 100 lines.
	wide := strings.Repeat("𝔞", statelab.MaxItemLen-3)
	var last *httptest.ResponseRecorder
	for i := 0; i < statelab.MaxCartLines; i++ {
		if last = add(fmt.Sprintf("%s%03d", wide, i), 1); last.Code != 200 {
			break
		}
	}
	if last.Code != 413 || !strings.Contains(last.Body.String(), "token of at most") {
		t.Fatalf("a cart past the token's size: %d %s, want 413", last.Code, last.Body)
	}
	if len(b.Token) > statelab.MaxTokenBytes {
		t.Errorf("a token of %d bytes was issued", len(b.Token))
	}
	m := newHandler(t, servers.Config{Variant: statelab.Memory})
	rec = m.send("POST", "/login", login("a"), jsonHeaders)
	cookie := rec.Result().Cookies()[0].String()
	for i := 0; i <= statelab.MaxCartLines; i++ {
		rec = m.send("POST", "/cart", fmt.Sprintf(`{"item":"sku-%03d","qty":1}`, i), map[string]string{"Content-Type": "application/json", "Cookie": cookie})
		if rec.Code != 200 {
			break
		}
	}
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "the cart is full") {
		t.Errorf("line %d: %d %s, want 413", statelab.MaxCartLines+1, rec.Code, rec.Body)
	}
}

// TestStrictTokens: a token this server signed is still checked as if it
// were not: a crit header, a time claim written as a string, a cart past
// the limits, a login too old are all refused.
func TestStrictTokens(t *testing.T) {
	key := []byte("strict-tokens-key-0123456789-abcdef")
	now := time.Now()
	h := newHandler(t, servers.Config{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k", Secret: key}}}, SessionLifetime: time.Hour})
	sign := func(edit func(header, claims map[string]any)) string {
		header := map[string]any{"alg": "HS256", "typ": "JWT", "kid": "k"}
		claims := map[string]any{"iss": statelab.Issuer, "aud": statelab.Audience, "sub": "a", "sid": "s1",
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "login": now.Unix(), "cart": []any{}}
		edit(header, claims)
		hj, _ := json.Marshal(header)
		cj, _ := json.Marshal(claims)
		signing := base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(cj)
		sig, err := jwt.SigningMethodHS256.Sign(signing, key)
		if err != nil {
			t.Fatal(err)
		}
		return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	for _, tc := range []struct {
		name string
		edit func(header, claims map[string]any)
		want int
	}{
		{"as issued", func(map[string]any, map[string]any) {}, 200},
		{"crit header", func(h, _ map[string]any) { h["crit"] = []string{"exp"} }, 401},
		{"exp as a string", func(_, c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Minute).Unix()) }, 401},
		{"iat as a string", func(_, c map[string]any) { c["iat"] = fmt.Sprint(now.Unix()) }, 401},
		{"no login time", func(_, c map[string]any) { delete(c, "login") }, 401},
		{"a login two hours old", func(_, c map[string]any) { c["login"] = now.Add(-2 * time.Hour).Unix() }, 401},
		{"a cart line out of range", func(_, c map[string]any) { c["cart"] = []any{map[string]any{"item": "x", "qty": 100000}} }, 401},
		{"a cart of 101 lines", func(_, c map[string]any) {
			var cart []any
			for i := 0; i < 101; i++ {
				cart = append(cart, map[string]any{"item": fmt.Sprint("i", i), "qty": 1})
			}
			c["cart"] = cart
		}, 401},
		{"a user name out of range", func(_, c map[string]any) { c["sub"] = strings.Repeat("u", 65) }, 401},
	} {
		rec := h.send("GET", "/me", "", map[string]string{"Authorization": "Bearer " + sign(tc.edit)})
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestSessionLifetime: however active, a login ends SessionLifetime after
// it began, in every variant.
func TestSessionLifetime(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for _, v := range []statelab.Variant{statelab.Memory, statelab.JWT, statelab.Cookie} {
		h := newHandler(t, servers.Config{Variant: v, Now: clock, SessionLifetime: time.Hour, SessionTTL: 2 * time.Hour, TokenTTL: 2 * time.Hour})
		rec := h.send("POST", "/login", login("a"), jsonHeaders)
		cred := map[string]string{"Content-Type": "application/json"}
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			cred["Cookie"] = cs[0].String()
		}
		var b statelab.Body
		json.Unmarshal(rec.Body.Bytes(), &b)
		if b.Token != "" {
			cred["Authorization"] = "Bearer " + b.Token
		}
		mu.Lock()
		now = now.Add(59 * time.Minute)
		mu.Unlock()
		rec = h.send("POST", "/cart", `{"item":"x","qty":1}`, cred)
		if rec.Code != 200 {
			t.Fatalf("%s: 59 minutes in: %d %s", v, rec.Code, rec.Body)
		}
		json.Unmarshal(rec.Body.Bytes(), &b)
		if b.Token != "" {
			cred["Authorization"] = "Bearer " + b.Token
		}
		mu.Lock()
		now = now.Add(2 * time.Minute)
		mu.Unlock()
		rec = h.send("GET", "/me", "", cred)
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), "the longest a session lasts") {
			t.Errorf("%s: 61 minutes after login, though active: %d %s, want 401", v, rec.Code, rec.Body)
		}
		mu.Lock()
		now = time.Now()
		mu.Unlock()
	}
}

// TestNoEcho: no error repeats what an attacker sent, and every answer
// tells the browser not to sniff its type.
func TestNoEcho(t *testing.T) {
	const evil = "<script>alert(1)</script>"
	h := newHandler(t, servers.Config{Variant: statelab.JWT})
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"` + evil + `"}`))
	for _, tc := range []struct {
		method, path, body string
		headers            map[string]string
	}{
		{"GET", "/" + evil, "", nil},
		{"DELETE", "/me", "", nil},
		{"GET", "/me", "", map[string]string{"Authorization": "Bearer " + header + ".e30.c2ln"}},
		{"POST", "/login", `{"` + evil + `":1}`, jsonHeaders},
		{"POST", "/login", `{"user":` + evil + `}`, jsonHeaders},
	} {
		rec := h.send(tc.method, tc.path, tc.body, tc.headers)
		if strings.Contains(rec.Body.String(), "script") {
			t.Errorf("%s %s: the answer echoes the input: %s", tc.method, tc.path, rec.Body)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", tc.method, tc.path)
		}
	}
	if rec := h.send("GET", "/", "", nil); rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("the page has no nosniff")
	}
}

// TestShortKeyRefused: no variant starts with a key under 32 bytes.
func TestShortKeyRefused(t *testing.T) {
	for _, cfg := range []servers.Config{
		{Variant: statelab.JWT, Keys: statelab.Keys{JWT: []statelab.Key{{ID: "k", Secret: []byte("0123456789abcdef")}}}},
		{Variant: statelab.Memory, Keys: statelab.Keys{Cookie: [][]byte{[]byte("0123456789abcdef0123456789abcde")}}},
	} {
		if srv, err := servers.New(cfg); err == nil {
			srv.Close()
			t.Errorf("%s started with a key under 32 bytes", cfg.Variant)
		} else if !strings.Contains(err.Error(), "want at least 32") {
			t.Errorf("%s: %v, want the key's length named", cfg.Variant, err)
		}
	}
}

// TestPageMoveEscaped: the move the balancer names reaches the page's
// script as a string, escaped, and at most 100 bytes of it: a header
// naming a script cannot end the script element or run.
func TestPageMoveEscaped(t *testing.T) {
	h := newHandler(t, servers.Config{Variant: statelab.Memory})
	evil := `a -> b"; alert(1); "</script><script>alert(2)</script>` + strings.Repeat("x", 500)
	rec := h.send("GET", "/", "", map[string]string{statelab.RepinnedHeader: evil})
	body := rec.Body.String()
	if strings.Contains(body, "alert(1); \"") || strings.Contains(body, "<script>alert(2)") || strings.Contains(body, strings.Repeat("x", 200)) {
		t.Fatalf("the page carries the header unescaped or unbounded:\n%s", body[strings.Index(body, "movedAtLoad"):][:300])
	}
	if !strings.Contains(body, `const movedAtLoad = "a -\u003e b\"; alert(1); \"\u003c/script\u003e\u003cscript\u003e`) {
		t.Errorf("the move is not in the page as an escaped string:\n%s", body[strings.Index(body, "movedAtLoad"):][:200])
	}
	if rec := h.send("GET", "/", "", map[string]string{statelab.RepinnedHeader: "memory-2 -> memory-3"}); !strings.Contains(rec.Body.String(), `const movedAtLoad = "memory-2 -\u003e memory-3"`) {
		t.Errorf("a real move is not on the page")
	}
}
