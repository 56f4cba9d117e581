package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"statelab/internal/poll"
	"statelab/lb/api"
)

// flaky is a listener whose next accepts fail as a process out of file
// descriptors sees them.
type flaky struct {
	net.Listener
	fail atomic.Int64
}

func (f *flaky) Accept() (net.Conn, error) {
	if f.fail.Add(-1) >= 0 {
		time.Sleep(time.Millisecond)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return f.Listener.Accept()
}

// serving opens and serves a balancer of one pool over backends, its first
// listener replaced by wrap's, and stops it with the test.
func serving(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener, backends ...string) *Balancer {
	t.Helper()
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 50 * time.Millisecond
	}
	spec := PoolSpec{Name: "p", Listen: "127.0.0.1:0"}
	for i, a := range backends {
		spec.Backends = append(spec.Backends, BackendSpec{Name: fmt.Sprintf("b%d", i+1), Addr: a})
	}
	bl, err := New(cfg, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := bl.Open(); err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		g := bl.lns[0].(*listener)
		g.Listener = wrap(g.Listener)
	}
	done := make(chan struct{})
	go func() { bl.Serve(); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bl.Shutdown(ctx)
		<-done
	})
	return bl
}

func named(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(s.Close)
	return s
}

// TestOutOfDescriptorsIsTemporary: accepts that fail with EMFILE (as a
// process out of file descriptors sees them) never stop the pool: it
// says it is shedding, retries with a backoff, serves again once an
// accept succeeds, and says so. fasthttp alone takes EMFILE for a
// permanent error and stops serving the listener for good.
func TestOutOfDescriptorsIsTemporary(t *testing.T) {
	be := named(t, "a")
	fl := &flaky{}
	fl.fail.Store(5)
	bl := serving(t, Config{}, func(ln net.Listener) net.Listener { fl.Listener = ln; return fl }, strings.TrimPrefix(be.URL, "http://"))
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + bl.Pool("p").Addr() + "/")
	if err != nil {
		t.Fatalf("after five accepts failed with EMFILE, the pool does not serve: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "a" {
		t.Fatalf("got %d %q, want 200 \"a\"", resp.StatusCode, body)
	}
	var shed, back bool
	for _, ev := range bl.events.since(0) {
		shed = shed || ev.Type == api.EventShedding && strings.Contains(ev.Reason, "too many open files")
		back = back || ev.Type == api.EventAccepting
	}
	if !shed || !back {
		t.Errorf("events: shedding %v, accepting again %v; want both: %+v", shed, back, bl.events.since(0))
	}
	if st := bl.Pool("p").Status(); st.Shedding != nil || st.AcceptErrors != 5 {
		t.Errorf("status: shedding since %v, accept errors %d; want not shedding, 5", st.Shedding, st.AcceptErrors)
	}
	// While it sheds, the status says so.
	fl.fail.Store(1 << 40)
	err = poll.Until(context.Background(), 5*time.Second, 5*time.Millisecond, func(context.Context) error {
		if bl.Pool("p").Status().Shedding == nil {
			// An accept must be tried: a connection arrives.
			if c, err := net.DialTimeout("tcp", bl.Pool("p").Addr(), 50*time.Millisecond); err == nil {
				c.Close()
			}
			return fmt.Errorf("not shedding yet")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	fl.fail.Store(0)
}

// TestUnreachable: how a request's failed dial changes a backend with
// Fall 2: refused is down at once; a timeout counts once, twice is down;
// a timeout while the backend answered since the dial began counts for
// nothing.
func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name     string
		errs     []error
		answered bool // the backend answered after each dial began
		want     State
	}{
		{"refused once", []error{refused}, false, Down},
		{"timeout once", []error{timeout}, false, Up},
		{"timeout twice", []error{timeout, timeout}, false, Down},
		{"timeout twice while answering", []error{timeout, timeout}, true, Up},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bl, err := New(Config{Fall: 2}, PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: []BackendSpec{{Name: "b", Addr: "127.0.0.1:1"}}})
			if err != nil {
				t.Fatal(err)
			}
			b := bl.Pool("p").Backend("b")
			for _, err := range tc.errs {
				start := time.Now()
				if tc.answered {
					b.answeredAt(start.Add(time.Millisecond))
				}
				b.unreachable(err, start)
			}
			if got := b.State(); got != tc.want {
				t.Errorf("%s: %s (%s), want %s", tc.name, got, b.status().Why, tc.want)
			}
		})
	}
}

// TestDialTimeoutCountsTowardFall: a dial that times out while the
// backend is answering other requests (a full accept queue under load) is
// a busy backend, not a dead one: it is not marked down on the spot, as
// a refused connection is, and the request is served by another.
func TestDialTimeoutCountsTowardFall(t *testing.T) {
	a, b := named(t, "a"), named(t, "b")
	bl := serving(t, Config{ConnectTimeout: 50 * time.Millisecond, Fall: 2, Retries: 2}, nil,
		strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://"))
	slow := &atomic.Bool{}
	first := bl.Pool("p").Backend("b1")
	// The dialer waits past its own timeout before connecting: the dial
	// fails as one into a full accept queue does, with a timeout.
	first.upstream.dialer.Control = func(string, string, syscall.RawConn) error {
		if slow.Load() {
			time.Sleep(120 * time.Millisecond)
		}
		return nil
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (int, string) {
		resp, err := c.Get("http://" + bl.Pool("p").Addr() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	for range 4 { // both answer: b1 has answered recently
		get()
	}
	first.upstream.closeIdle()
	slow.Store(true)
	go func() { // b1 keeps answering someone: its health checks
		for slow.Load() {
			first.answered()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for i := range 4 {
		if code, body := get(); code != 200 || body != "b" && body != "a" {
			t.Fatalf("request %d: %d %q, want 200 from a backend", i, code, body)
		}
	}
	slow.Store(false)
	if got := first.State(); got != Up {
		t.Errorf("b1 is %s after dial timeouts while it was answering (%s); want up: busy, not dead", got, first.status().Why)
	}
	if n := first.stats.failures[failConnect].Load(); n == 0 {
		t.Errorf("no dial timeout was counted: the test did not make one")
	}
}
