package lb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/poll"
	"statelab/lb"
	"statelab/servers"
)

// backend is an httptest server that names itself like a statelab instance.
type backend struct {
	name string
	ts   *httptest.Server
	raw  string // the address of a backend written at the socket (rawBackend)
	hits atomic.Int64
}

func newBackend(t testing.TB, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Statelab-Instance", name)
		if r.URL.Path == "/healthz" {
			return
		}
		b.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(b.kill)
	return b
}

func (b *backend) addr() string {
	if b.ts == nil {
		return b.raw
	}
	return strings.TrimPrefix(b.ts.URL, "http://")
}

// kill ends the backend as SIGKILL would: no new connections, and the open
// ones cut.
func (b *backend) kill() {
	b.ts.Listener.Close()
	b.ts.CloseClientConnections()
	b.ts.Close()
}

func spec(name string, bs ...*backend) lb.PoolSpec {
	s := lb.PoolSpec{Name: name, Listen: "127.0.0.1:0"}
	for _, b := range bs {
		s.Backends = append(s.Backends, lb.BackendSpec{Name: b.name, Addr: b.addr()})
	}
	return s
}

// startLB opens a balancer on loopback ports and serves its admin API.
func startLB(t testing.TB, cfg lb.Config, specs ...lb.PoolSpec) (*lb.Balancer, *api.Client) {
	t.Helper()
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 50 * time.Millisecond
	}
	bl, err := lb.New(cfg, specs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := bl.Open(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { bl.Serve(); close(done) }()
	admin := httptest.NewServer(mustAdmin(bl, lb.AdminOptions{}))
	t.Cleanup(func() {
		admin.CloseClientConnections()
		admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bl.Shutdown(ctx)
		<-done
	})
	return bl, &api.Client{Base: admin.URL}
}

func url(bl *lb.Balancer, pool string) string { return "http://" + bl.Pool(pool).Addr() }

// client is a user with a cookie jar; it returns who answered each request.
type client struct {
	t *testing.T
	c *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type answer struct {
	status   int
	instance string
	repinned string
	body     string
}

func (c *client) get(u string) answer {
	c.t.Helper()
	return c.do("GET", u)
}

func (c *client) do(method, u string) answer {
	c.t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("X-Statelab-Instance"), resp.Header.Get(statelab.RepinnedHeader), string(body)}
}

// untilBackend polls the admin API, for at most limit, until check passes
// on the pool's first backend; then the test goes on, or it fails.
func untilBackend(t *testing.T, admin *api.Client, pool string, limit time.Duration, check func(api.BackendStatus) error) {
	t.Helper()
	err := poll.Until(context.Background(), limit, 10*time.Millisecond, func(ctx context.Context) error {
		ps, err := admin.Pool(ctx, pool)
		if err != nil {
			return err
		}
		if len(ps.Backends) == 0 {
			return fmt.Errorf("pool %s has no backend", pool)
		}
		return check(ps.Backends[0])
	})
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := poll.Until(context.Background(), 5*time.Second, 5*time.Millisecond, func(context.Context) error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	a, b, c := newBackend(t, "a", nil), newBackend(t, "b", nil), newBackend(t, "c", nil)
	bl, _ := startLB(t, lb.Config{}, spec("p", a, b, c))
	cl := newClient(t)
	for i := 0; i < 300; i++ {
		if r := cl.get(url(bl, "p") + "/x"); r.status != 200 {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	for _, be := range []*backend{a, b, c} {
		if got := be.hits.Load(); got != 100 {
			t.Errorf("%s got %d of 300 requests, want 100", be.name, got)
		}
	}
}

func TestStickyKeepsAndRepins(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			a, b, c := newBackend(t, "a", nil), newBackend(t, "b", nil), newBackend(t, "c", nil)
			byName := map[string]*backend{"a": a, "b": b, "c": c}
			bl, _ := startLB(t, lb.Config{Policy: api.Sticky, Strict: strict}, spec("p", a, b, c))
			cl := newClient(t)
			first := cl.get(url(bl, "p") + "/")
			for i := 0; i < 20; i++ {
				if r := cl.get(url(bl, "p") + "/"); r.instance != first.instance {
					t.Fatalf("request %d went to %s, pinned to %s", i, r.instance, first.instance)
				}
			}
			byName[first.instance].kill()
			r := cl.get(url(bl, "p") + "/")
			if strict {
				if r.status != 503 || !strings.Contains(r.body, "strict") {
					t.Fatalf("strict pool after the pinned backend died: %+v, want a 503 that says why", r)
				}
				return
			}
			if r.status != 200 || r.instance == first.instance {
				t.Fatalf("after %s died: %+v, want 200 from another backend", first.instance, r)
			}
			if want := first.instance + " -> " + r.instance; r.repinned != want {
				t.Errorf("re-pinned header %q, want %q", r.repinned, want)
			}
			for i := 0; i < 10; i++ {
				if again := cl.get(url(bl, "p") + "/"); again.instance != r.instance || again.repinned != "" {
					t.Fatalf("after re-pinning to %s, request went to %+v", r.instance, again)
				}
			}
		})
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	release := make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	}
	a, b := newBackend(t, "a", slow), newBackend(t, "b", slow)
	bl, _ := startLB(t, lb.Config{Policy: api.LeastConn}, spec("p", a, b))
	busy := make(chan answer)
	go func() { busy <- newClient(t).get(url(bl, "p") + "/slow") }()
	waitFor(t, "the slow request to reach a backend", func() bool { return a.hits.Load()+b.hits.Load() == 1 })
	idle := "b"
	if b.hits.Load() == 1 {
		idle = "a"
	}
	cl := newClient(t)
	for i := 0; i < 10; i++ {
		if r := cl.get(url(bl, "p") + "/fast"); r.instance != idle {
			t.Fatalf("request %d went to %s while %s was idle", i, r.instance, idle)
		}
	}
	close(release)
	if r := <-busy; r.status != 200 {
		t.Fatalf("slow request: %+v", r)
	}
}

// jwtBackend runs an instance of the jwt variant behind httptest, so that it
// can be killed like the others.
func jwtBackend(t *testing.T, name string) *backend {
	t.Helper()
	srv, err := servers.New(servers.Config{Variant: statelab.JWT, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	b := &backend{name: name}
	h := srv.Handler()
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			b.hits.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(b.kill)
	return b
}

// TestKillUnderLoad: 20 users of the jwt variant loop through the balancer
// while an instance dies; none of their requests fails, and the balancer
// reports the instance down at the first refused (or reset) connection.
func TestKillUnderLoad(t *testing.T) {
	a, b, c := jwtBackend(t, "jwt-1"), jwtBackend(t, "jwt-2"), jwtBackend(t, "jwt-3")
	interval := 200 * time.Millisecond
	bl, admin := startLB(t, lb.Config{HealthInterval: interval}, spec("jwt", a, b, c))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := admin.Events(ctx, -1)
	if err != nil {
		t.Fatal(err)
	}
	var sent, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Timeout: 5 * time.Second}
			user := fmt.Sprintf("user%d", i)
			resp, err := hc.Post(url(bl, "jwt")+"/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"statelab"}`))
			if err != nil {
				t.Errorf("login: %v", err)
				return
			}
			var body statelab.Body
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", url(bl, "jwt")+"/me", nil)
				req.Header.Set("Authorization", "Bearer "+body.Token)
				resp, err := hc.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				var me statelab.Body
				json.NewDecoder(resp.Body).Decode(&me)
				resp.Body.Close()
				if resp.StatusCode != 200 || me.User != user {
					failed.Add(1)
					t.Logf("request failed: %s, user %q", resp.Status, me.User)
				}
			}
		}()
	}
	waitFor(t, "load to flow", func() bool { return b.hits.Load() > 200 })
	killed := time.Now()
	b.kill()
	var down api.Event
	select {
	case down = <-waitEvent(events, api.EventDown, "jwt-2"):
	case <-time.After(5 * time.Second):
		t.Fatal("no backend_down event for jwt-2")
	}
	before := sent.Load()
	waitFor(t, "load to go on after the kill", func() bool { return sent.Load() > before+500 })
	close(stop)
	wg.Wait()
	// Marked down by the first contact after the kill (a request or a
	// check that found nobody listening, or a connection the dying
	// process reset), with no grace period: how soon that was is the
	// machine's speed, which lab bench measures.
	if !strings.Contains(down.Reason, "refused") && !strings.Contains(down.Reason, "connection reset") {
		t.Errorf("jwt-2 marked down for %q (%s after the kill), want at the first refused or reset connection", down.Reason, down.Time.Sub(killed))
	}
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the kill, want 0", failed.Load(), sent.Load())
	}
	t.Logf("%d requests, %d failed; jwt-2 down %s after the kill (%s)", sent.Load(), failed.Load(), down.Time.Sub(killed), down.Reason)
}

func waitEvent(events <-chan api.Event, typ api.EventType, backend string) <-chan api.Event {
	out := make(chan api.Event, 1)
	go func() {
		for ev := range events {
			if ev.Type == typ && ev.Backend == backend {
				out <- ev
				return
			}
		}
	}()
	return out
}

// TestHangAndReset: a backend that hangs gives 504 after the timeout, one that
// resets gives 502, and neither holds up requests to a healthy pool.
func TestHangAndReset(t *testing.T) {
	release := make(chan struct{})
	hang := newBackend(t, "hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	reset := newBackend(t, "reset", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0) // close with RST
		conn.Close()
	})
	midway := newBackend(t, "midway", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	})
	good := newBackend(t, "good", nil)
	timeout := 300 * time.Millisecond
	bl, _ := startLB(t, lb.Config{Timeout: timeout}, spec("hang", hang), spec("reset", reset), spec("midway", midway), spec("good", good))
	get := func(pool, method string) (int, time.Duration) {
		start := time.Now()
		req, _ := http.NewRequest(method, url(bl, pool)+"/x", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, time.Since(start)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}

	t.Run("hang gives 504 after the timeout", func(t *testing.T) {
		status, took := get("hang", "GET")
		// The upper bound only guards against a hang; it is not a speed target.
		if status != 504 || took < timeout || took > timeout+5*time.Second {
			t.Errorf("status %d after %s, want 504 after %s", status, took, timeout)
		}
	})
	t.Run("reset gives 502", func(t *testing.T) {
		for _, method := range []string{"GET", "POST"} {
			if status, took := get("reset", method); status != 502 || took > 5*time.Second {
				t.Errorf("%s: status %d after %s, want 502", method, status, took)
			}
		}
	})
	t.Run("headers then reset gives 502, not half a body", func(t *testing.T) {
		// The balancer reads the whole answer before the client sees any
		// of it: a body cut midway is no answer.
		resp, err := http.Get(url(bl, "midway") + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 502 || strings.Contains(string(body), "partial") {
			t.Errorf("status %d, body %q: want a 502 and none of the partial body", resp.StatusCode, body)
		}
	})
	t.Run("hanging requests do not hold up others", func(t *testing.T) {
		gate := make(chan struct{})
		stuck := newBackend(t, "stuck", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		})
		long, _ := startLB(t, lb.Config{Timeout: time.Minute}, spec("hang", stuck), spec("good", good))
		t.Cleanup(func() { close(gate) }) // runs before the balancer's shutdown
		hang := stuck
		before := hang.hits.Load()
		var pending atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			pending.Add(1)
			go func() {
				defer wg.Done()
				defer pending.Add(-1)
				resp, err := http.Get(url(long, "hang") + "/x")
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		waitFor(t, "5 requests to hang", func() bool { return hang.hits.Load() == before+5 })
		var goodWG sync.WaitGroup
		var failed atomic.Int64
		for i := 0; i < 50; i++ {
			goodWG.Add(1)
			go func() {
				defer goodWG.Done()
				resp, err := http.Get(url(long, "good") + "/x")
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		goodWG.Wait()
		if failed.Load() != 0 {
			t.Errorf("%d of 50 requests to the healthy pool failed", failed.Load())
		}
		if got := pending.Load(); got != 5 {
			t.Errorf("%d hanging requests ended before the healthy ones did, want none", 5-got)
		}
	})
}

// TestAdminChangesTakeEffect: policy switch, drain, disable, add and remove
// act on the next request, without a restart.
func TestAdminChangesTakeEffect(t *testing.T) {
	a, b := newBackend(t, "a", nil), newBackend(t, "b", nil)
	bl, admin := startLB(t, lb.Config{}, spec("p", a, b))
	ctx := context.Background()
	u := url(bl, "p") + "/"

	cl := newClient(t)
	if r1, r2 := cl.get(u), cl.get(u); r1.instance == r2.instance {
		t.Fatalf("round-robin sent two requests to %s", r1.instance)
	}
	if err := admin.SetPolicy(ctx, "p", api.Sticky, false); err != nil {
		t.Fatal(err)
	}
	pinned := cl.get(u).instance
	for i := 0; i < 5; i++ {
		if r := cl.get(u); r.instance != pinned {
			t.Fatalf("sticky after the switch: went to %s, pinned to %s", r.instance, pinned)
		}
	}

	// Drain the pinned backend: the pinned user stays, new users go elsewhere.
	if err := admin.Backend(ctx, "p", pinned, api.Drain); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if r := cl.get(u); r.instance != pinned {
			t.Fatalf("pinned user moved off a draining backend to %s", r.instance)
		}
		if r := newClient(t).get(u); r.instance == pinned {
			t.Fatalf("a new user landed on draining %s", pinned)
		}
	}
	// Disable it: the pinned user is re-pinned.
	if err := admin.Backend(ctx, "p", pinned, api.Disable); err != nil {
		t.Fatal(err)
	}
	if r := cl.get(u); r.instance == pinned || r.repinned == "" {
		t.Fatalf("after disable: %+v, want a re-pin away from %s", r, pinned)
	}
	if err := admin.Backend(ctx, "p", pinned, api.Enable); err != nil {
		t.Fatal(err)
	}

	// Add a backend under round-robin: it gets its share at once.
	if err := admin.SetPolicy(ctx, "p", api.RoundRobin, false); err != nil {
		t.Fatal(err)
	}
	c := newBackend(t, "c", nil)
	if err := admin.AddBackend(ctx, "p", "c", c.addr()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := 0; i < 30; i++ {
		seen[newClient(t).get(u).instance]++
	}
	if seen["c"] != 10 {
		t.Errorf("after adding c, 30 requests went %v; want 10 to c", seen)
	}
	if err := admin.RemoveBackend(ctx, "p", "c"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if r := newClient(t).get(u); r.instance == "c" {
			t.Fatal("a removed backend still got a request")
		}
	}
}

func TestAdminErrors(t *testing.T) {
	a := newBackend(t, "a", nil)
	_, admin := startLB(t, lb.Config{}, spec("p", a))
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/pools/nope", "", 404},
		{"PUT", "/api/pools/nope/policy", `{"policy":"sticky"}`, 404},
		{"PUT", "/api/pools/p/policy", `{"policy":"random"}`, 400},
		{"PUT", "/api/pools/p/policy", `{"policy":`, 400},
		{"PUT", "/api/pools/p/policy", `{"policy":"sticky","sticky":true}`, 400},
		{"PUT", "/api/pools/p/policy", ``, 400},
		{"POST", "/api/pools/p/backends", `{"name":"a","addr":"127.0.0.1:1"}`, 409},
		{"POST", "/api/pools/p/backends", `{"name":"x","addr":"nonsense"}`, 400},
		{"POST", "/api/pools/p/backends", `{"name":"","addr":"h:1"}`, 400},
		{"DELETE", "/api/pools/p/backends/zzz", "", 404},
		{"POST", "/api/pools/p/backends/zzz/drain", "", 404},
		{"POST", "/api/pools/p/backends/a/explode", "", 404},
		{"DELETE", "/api/pools", "", 405},
		{"GET", "/nothing", "", 404},
		{"GET", "/api/events?since=abc", "", 400},
	} {
		req, _ := http.NewRequest(tc.method, admin.Base+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s %s: %d %s, want %d with a JSON error", tc.method, tc.path, tc.body, resp.StatusCode, body, tc.status)
		}
	}
}

func TestAdminToken(t *testing.T) {
	bl, err := lb.New(lb.Config{}, lb.PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "a", Addr: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(mustAdmin(bl, lb.AdminOptions{Token: "s3cret-token-0123456789"}))
	defer admin.Close()
	ctx := context.Background()
	if _, err := (&api.Client{Base: admin.URL}).Status(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("no token: err %v, want 401", err)
	}
	if _, err := (&api.Client{Base: admin.URL, Token: "wrong"}).Status(ctx); err == nil {
		t.Error("wrong token accepted")
	}
	if _, err := (&api.Client{Base: admin.URL, Token: "s3cret-token-0123456789"}).Status(ctx); err != nil {
		t.Errorf("right token: %v", err)
	}
	// The page itself holds no data: it loads without the token, and asks
	// for it. The API never takes Basic auth, which a browser would attach
	// to a cross-site form by itself.
	for path, want := range map[string]int{"/": 200, "/api/pools": 401} {
		req, _ := http.NewRequest("GET", admin.URL+path, nil)
		req.SetBasicAuth("admin", "s3cret-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s with Basic auth: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if _, err := bl.Admin(lb.AdminOptions{Token: "short"}); err == nil {
		t.Error("a 5-byte token was accepted")
	}
}

func TestNoBackendUp(t *testing.T) {
	a := newBackend(t, "a", nil)
	a.kill()
	bl, admin := startLB(t, lb.Config{}, spec("p", a))
	waitFor(t, "a to be down", func() bool {
		ps, err := admin.Pool(context.Background(), "p")
		return err == nil && ps.Backends[0].State == api.Down
	})
	r := newClient(t).get(url(bl, "p") + "/")
	if r.status != 503 || !strings.Contains(r.body, "no backend is up") {
		t.Fatalf("%+v, want 503 saying no backend is up", r)
	}
}

func TestEventsReplayAndMetrics(t *testing.T) {
	a := newBackend(t, "a", nil)
	bl, admin := startLB(t, lb.Config{}, spec("p", a))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.SetPolicy(ctx, "p", api.LeastConn, false); err != nil {
		t.Fatal(err)
	}
	events, err := admin.Events(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Type != api.EventPolicy || ev.Policy != api.LeastConn {
			t.Errorf("first replayed event %+v, want the policy switch", ev)
		}
	case <-ctx.Done():
		t.Fatal("no replayed event")
	}
	newClient(t).get(url(bl, "p") + "/")
	resp, err := http.Get(admin.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`statelab_lb_responses_total{pool="p",backend="a",code="2xx"} 1`,
		`statelab_lb_backend_latency_seconds_count{pool="p",backend="a"} 1`,
		`statelab_lb_backend_state{pool="p",backend="a",state="up"} 1`,
		"# TYPE statelab_lb_backend_latency_seconds histogram",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestParsePool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  string
	}{
		{"memory=:8081=memory-1:8080,memory-2:8080", "memory :8081 [memory-1=memory-1:8080 memory-2=memory-2:8080]", ""},
		{"jwt=127.0.0.1:0=one@127.0.0.1:9,two@127.0.0.1:10", "jwt 127.0.0.1:0 [one=127.0.0.1:9 two=127.0.0.1:10]", ""},
		{"memory=:8081", "", "want NAME=LISTEN=BACKEND"},
		{"memory=8081=a:1", "", "listen address"},
		{"memory=:8081=a", "", "missing port"},
		{"memory=:8081=", "", "no backend"},
		{"memory=:8081=a:1,a:2", "", "given twice"},
		{"memory=:8081=x y@a:1", "", "backend name"},
	} {
		got, err := lb.ParsePool(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePool(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePool(%q): %v", tc.in, err)
			continue
		}
		var bs []string
		for _, b := range got.Backends {
			bs = append(bs, b.Name+"="+b.Addr)
		}
		if s := fmt.Sprintf("%s %s %v", got.Name, got.Listen, bs); s != tc.want {
			t.Errorf("ParsePool(%q) = %s, want %s", tc.in, s, tc.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:9000": true, "localhost:9000": true, "[::1]:9000": true, ":9000": false, "0.0.0.0:9000": false, "10.0.0.1:9000": false, "junk": false} {
		if got := lb.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

// TestCookiePerPool: with CookiePerPool, two sticky pools on one host keep
// their own pins in one cookie jar, as a browser would hold them.
func TestCookiePerPool(t *testing.T) {
	a1, a2 := newBackend(t, "a1", nil), newBackend(t, "a2", nil)
	b1, b2 := newBackend(t, "b1", nil), newBackend(t, "b2", nil)
	bl, _ := startLB(t, lb.Config{Policy: api.Sticky, CookiePerPool: true}, spec("a", a1, a2), spec("b", b1, b2))
	if got := bl.Pool("a").Cookie(); got != "statelab_backend_a" {
		t.Fatalf("cookie name %q", got)
	}
	cl := newClient(t)
	pinA, pinB := cl.get(url(bl, "a")+"/").instance, cl.get(url(bl, "b")+"/").instance
	for i := 0; i < 10; i++ {
		if ra, rb := cl.get(url(bl, "a")+"/"), cl.get(url(bl, "b")+"/"); ra.instance != pinA || rb.instance != pinB || ra.repinned != "" || rb.repinned != "" {
			t.Fatalf("request %d: a went to %s (%s), b to %s (%s); pinned to %s and %s", i, ra.instance, ra.repinned, rb.instance, rb.repinned, pinA, pinB)
		}
	}
}

// TestBusyBackendStaysUp: health checks that time out while the backend is
// answering real requests do not take it down; without traffic, the same
// timeouts do.
func TestBusyBackendStaysUp(t *testing.T) {
	slow := newBackend(t, "slow", nil)
	// Health checks hang; the backend's other answers come at once.
	slowHealth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			<-r.Context().Done()
			return
		}
		slow.ts.Config.Handler.ServeHTTP(w, r)
	}))
	defer slowHealth.Close()
	bl, admin := startLB(t, lb.Config{HealthInterval: 30 * time.Millisecond, HealthTimeout: 60 * time.Millisecond, Fall: 2},
		lb.PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "slow", Addr: strings.TrimPrefix(slowHealth.URL, "http://")}}})
	ctx := context.Background()
	state := func() string {
		ps, err := admin.Pool(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		return string(ps.Backends[0].State)
	}
	cl := newClient(t)
	for deadline := time.Now().Add(600 * time.Millisecond); time.Now().Before(deadline); {
		if r := cl.get(url(bl, "p") + "/x"); r.status != 200 {
			t.Fatalf("under traffic: %+v", r)
		}
		if s := state(); s != "up" {
			t.Fatalf("a backend answering requests was marked %s because its checks timed out", s)
		}
	}
	waitFor(t, "the idle backend with hanging checks to go down", func() bool { return state() == "down" })
}

// mustAdmin is the balancer's admin handler, for a test.
func mustAdmin(bl *lb.Balancer, opts lb.AdminOptions) http.Handler {
	h, err := bl.Admin(opts)
	if err != nil {
		panic(err)
	}
	return h
}

// TestRepinnedReachesTheBackend: the backend a sticky user is moved to
// learns of the move from the request (so that a page it serves can say
// why a session is gone); a client cannot make up a move: its own header
// of that name never reaches a backend.
func TestRepinnedReachesTheBackend(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Header.Get(statelab.RepinnedHeader)) }
	a, b := newBackend(t, "a", echo), newBackend(t, "b", echo)
	byName := map[string]*backend{"a": a, "b": b}
	bl, _ := startLB(t, lb.Config{Policy: api.Sticky}, spec("p", a, b))
	cl := newClient(t)
	forged := func() answer {
		req, _ := http.NewRequest("GET", url(bl, "p")+"/", nil)
		req.Header.Set(statelab.RepinnedHeader, "x -> <script>")
		resp, err := cl.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header.Get("X-Statelab-Instance"), resp.Header.Get(statelab.RepinnedHeader), string(body)}
	}
	first := forged()
	if first.status != 200 || first.body != "" {
		t.Fatalf("a client's own %s reached the backend: %+v", statelab.RepinnedHeader, first)
	}
	byName[first.instance].kill()
	moved := forged()
	if want := first.instance + " -> " + moved.instance; moved.body != want || moved.repinned != want {
		t.Fatalf("after the move the backend saw %q and the client %q, want %q", moved.body, moved.repinned, want)
	}
	if again := forged(); again.body != "" {
		t.Fatalf("a request after the move told the backend %q", again.body)
	}
}

// TestReportedSessions: the status shows what a backend's health check
// answer says it holds, and nothing when it says nothing usable: no
// count, a negative one, a body that is not JSON or too large to read,
// or no answer at all.
func TestReportedSessions(t *testing.T) {
	bodies := []struct {
		name, body string
		want       int64 // -1: none shown
	}{
		{"holds7", `{"status":"ok","sessions":7}`, 7},
		{"holds0", `{"sessions":0}`, 0},
		{"silent", `{"status":"ok"}`, -1},
		{"negative", `{"sessions":-3}`, -1},
		{"text", `ok`, -1},
		{"huge", `{"pad":"` + strings.Repeat("x", 70<<10) + `","sessions":5}`, -1},
		{"overflow", `{"sessions":99999999999999999999}`, -1},
	}
	var specs []lb.BackendSpec
	servers := map[string]*httptest.Server{}
	for _, b := range bodies {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, b.body) }))
		t.Cleanup(ts.Close)
		servers[b.name] = ts
		specs = append(specs, lb.BackendSpec{Name: b.name, Addr: strings.TrimPrefix(ts.URL, "http://")})
	}
	_, admin := startLB(t, lb.Config{HealthInterval: 20 * time.Millisecond}, lb.PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: specs})
	shown := func(name string) (int64, bool) {
		ps, err := admin.Pool(context.Background(), "p")
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range ps.Backends {
			if b.Name == name {
				if b.Sessions == nil {
					return -1, !b.Checked.IsZero() && b.Checked.Unix() > 0
				}
				return *b.Sessions, true
			}
		}
		t.Fatalf("no backend %s", name)
		return 0, false
	}
	for _, b := range bodies {
		var got int64
		waitFor(t, b.name+" checked", func() bool { n, ok := shown(b.name); got = n; return ok })
		if got != b.want {
			t.Errorf("%s: shown %d sessions, want %d", b.name, got, b.want)
		}
	}
	servers["holds7"].Close()
	waitFor(t, "no count for a backend that stopped answering", func() bool { n, _ := shown("holds7"); return n == -1 })
}

// TestEventStreamsNeverLockOut: 64 idle streams (tabs left open on the
// status page) do not lock out the next one (a runner's): it is served,
// and the oldest is ended instead. A client whose stream is ended that way
// opens it again from the last event it saw, and misses nothing: every
// event after it subscribed comes once, in order.
func TestEventStreamsNeverLockOut(t *testing.T) {
	a, b := jwtBackend(t, "jwt-1"), jwtBackend(t, "jwt-2")
	_, admin := startLB(t, lb.Config{HealthInterval: time.Hour}, spec("jwt", a, b))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tab := func() *http.Response {
		t.Helper()
		resp, err := http.Get(admin.Base + "/api/events")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a tab's stream: %v %v", resp, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	var tabs []*http.Response
	for i := 0; i < 64; i++ {
		tabs = append(tabs, tab())
	}
	events, err := admin.Events(ctx, -1)
	if err != nil {
		t.Fatalf("the 65th stream: %v", err)
	}
	// The first tab's stream was ended to make room.
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, tabs[0].Body); ended <- err }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the oldest stream was not ended")
	}
	next := func(typ api.EventType, backend string) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Type != typ || ev.Backend != backend {
				t.Fatalf("event %s %s, want %s %s", ev.Type, ev.Backend, typ, backend)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s %s", typ, backend)
		}
	}
	act := func(name string, a api.Action) {
		t.Helper()
		if err := admin.Backend(ctx, "jwt", name, a); err != nil {
			t.Fatal(err)
		}
	}
	act("jwt-1", api.Disable)
	next(api.EventDisable, "jwt-1")
	// 64 more tabs: the runner's stream is the oldest now, and ended; it
	// comes back by itself, from the last event it saw, while events go on.
	for i := 0; i < 64; i++ {
		tab()
	}
	act("jwt-2", api.Disable)
	act("jwt-1", api.Enable)
	act("jwt-2", api.Enable)
	next(api.EventDisable, "jwt-2")
	next(api.EventEnable, "jwt-1")
	next(api.EventEnable, "jwt-2")
}
