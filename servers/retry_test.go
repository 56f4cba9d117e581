package servers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"statelab"
	"statelab/servers"
)

// TestIdempotencyKey: a cart change sent twice with one Idempotency-Key is
// applied once, in every variant (the key lives where the session lives);
// a malformed key is a 400.
func TestIdempotencyKey(t *testing.T) {
	cfgs := configs(t)
	for _, v := range statelab.Variants {
		t.Run(string(v), func(t *testing.T) {
			ts := instance(t, cfgs[v])
			u := newUser(t)
			want(t, "login", u.login(ts.URL, "ida"), 200)
			add := func(key string, item ...string) result {
				body := `{"item":"egg","qty":1}`
				if len(item) > 0 {
					body = `{"item":"` + item[0] + `","qty":1}`
				}
				req, _ := http.NewRequest("POST", ts.URL+"/cart", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if key != "" {
					req.Header.Set("Idempotency-Key", key)
				}
				if u.token != "" {
					req.Header.Set("Authorization", "Bearer "+u.token)
				}
				resp, err := u.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b statelab.Body
				json.NewDecoder(resp.Body).Decode(&b)
				if b.Token != "" {
					u.token = b.Token
				}
				return result{status: resp.StatusCode, body: b}
			}
			want(t, "first", add("k-1"), 200)
			again := add("k-1")
			want(t, "again", again, 200)
			if !strings.Contains(again.body.Note, "applied already") || again.body.Cart[0].Qty != 1 {
				t.Fatalf("the same key again: %+v, want the change not applied twice", again.body)
			}
			want(t, "another key", add("k-2"), 200)
			want(t, "no key", add(""), 200)
			if r := u.do("GET", ts.URL+"/cart", nil); r.body.Cart[0].Qty != 3 {
				t.Fatalf("cart %v, want 3 eggs: k-1 once, k-2, and one without a key", r.body.Cart)
			}
			for _, bad := range []string{strings.Repeat("k", 65), "with space", "tab\tkey", "é-non-ascii"} {
				if r := add(bad); r.status != 400 {
					t.Errorf("key %q: %d, want 400", bad, r.status)
				}
			}
			twice, _ := http.NewRequest("POST", ts.URL+"/cart", strings.NewReader(`{"item":"egg","qty":1}`))
			twice.Header.Set("Content-Type", "application/json")
			twice.Header.Add("Idempotency-Key", "a")
			twice.Header.Add("Idempotency-Key", "b")
			if resp, err := http.DefaultClient.Do(twice); err != nil || resp.StatusCode != 400 {
				t.Errorf("two Idempotency-Key headers: %v %v, want 400", resp, err)
			} else {
				resp.Body.Close()
			}
			if r := add("k-2", "ham"); r.status != 422 {
				t.Errorf("k-2 again with another item: %d, want 422", r.status)
			}
			// The session remembers the last 8 keys: after 8 more, k-1 is
			// a new change again.
			for i := 0; i < statelab.MaxIdempotencyKeys; i++ {
				want(t, "another key", add(fmt.Sprintf("n-%d", i), "nut"), 200)
			}
			want(t, "k-1 once forgotten", add("k-1"), 200)
			if r := u.do("GET", ts.URL+"/cart", nil); r.body.Cart[0].Qty != 4 {
				t.Fatalf("cart %v, want 4 eggs", r.body.Cart)
			}
		})
	}
}

// TestIdempotencyKeyConcurrent: the same change sent twice at once with one
// key is applied once; the second is told to wait (409) or finds it
// applied.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	ts := instance(t, servers.Config{Variant: statelab.Memory})
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "cora"), 200)
	for round := 0; round < 20; round++ {
		key := fmt.Sprintf("c-%d", round)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("POST", ts.URL+"/cart", strings.NewReader(`{"item":"cod","qty":1}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", key)
				resp, err := u.c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for _, c := range codes {
			if c != 200 && c != 409 {
				t.Fatalf("round %d: statuses %v, want 200 or 409", round, codes)
			}
		}
	}
	if r := u.do("GET", ts.URL+"/cart", nil); r.body.Cart[0].Qty != 20 {
		t.Fatalf("cart %v, want 20 cod: one per key", r.body.Cart)
	}
}

// TestShortLifetimesRefused: a session or token TTL under a second cannot
// be kept (cookies and tokens count seconds), so it is refused at start.
func TestShortLifetimesRefused(t *testing.T) {
	for _, cfg := range []servers.Config{
		{Variant: statelab.Cookie, SessionTTL: 500 * time.Millisecond},
		{Variant: statelab.JWT, TokenTTL: 999 * time.Millisecond},
	} {
		if _, err := servers.New(cfg); err == nil || !strings.Contains(err.Error(), "want at least 1s") {
			t.Errorf("%+v: %v, want an error that says at least 1s", cfg, err)
		}
	}
}

// TestCrashAfterWrite: an armed instance applies the next cart change and
// dies before answering it: the client gets no answer, /healthz said it was
// armed, and the change is in the shared store (redis) for the next
// instance to find.
func TestCrashAfterWrite(t *testing.T) {
	cfg := configs(t)[statelab.Redis]
	var crashed atomic.Int32
	cfg.Crash = func() { crashed.Add(1) }
	srv, err := servers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	plain := cfg
	plain.Crash, plain.Name = nil, "redis-2"
	other := instance(t, plain)
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "cleo"), 200)
	srv.ArmCrash()
	if h := u.do("GET", ts.URL+"/healthz", nil); !h.body.CrashArmed {
		t.Fatalf("/healthz = %+v, want crash_armed", h.body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/cart", strings.NewReader(`{"item":"fig","qty":1}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := u.c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("an answer (%s) from an instance that should have died", resp.Status)
	}
	if crashed.Load() != 1 || srv.CrashArmed() {
		t.Fatalf("crashed %d times, still armed %v; want once, disarmed", crashed.Load(), srv.CrashArmed())
	}
	moveCookies(t, u, ts.URL, other.URL)
	if r := u.do("GET", other.URL+"/cart", nil); r.status != 200 || len(r.body.Cart) != 1 || r.body.Cart[0].Item != "fig" {
		t.Fatalf("the cart in Redis, seen from another instance: %d %v; want the change that was applied", r.status, r.body.Cart)
	}
}
