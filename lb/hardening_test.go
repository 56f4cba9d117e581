package lb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"statelab/lb/api"

	"go.uber.org/goleak"

	"statelab/internal/poll"
	"statelab/lb"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// balancer, backend and stream a test starts must end with it.
func TestMain(m *testing.M) {
	if os.Getenv(fdChildEnv) == "1" {
		os.Exit(fdChild())
	}
	goleak.VerifyTestMain(m,
		// fasthttp keeps one clock goroutine for the Date header, for the
		// life of the process.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// Its worker pool's cleaner notices a stopped server when it next
		// wakes, within MaxIdleWorkerDuration (10 s), and then ends.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// TestAdminCrossSite: a page on another site can neither read nor change the
// balancer through the loopback admin API that has no token, and a name
// that resolves to loopback by DNS rebinding gets nothing either.
func TestAdminCrossSite(t *testing.T) {
	a := newBackend(t, "a", nil)
	_, admin := startLB(t, lb.Config{}, spec("p", a))
	base := admin.Base
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		want    int
	}{
		{"a form post (text/plain) from a page", "POST", "/api/pools/p/backends/a/drain", map[string]string{"Content-Type": "text/plain"}, "x", 403},
		{"a form post (urlencoded) from a page", "POST", "/api/pools/p/backends", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `{"name":"evil","addr":"evil.example:80"}=`, 403},
		{"a post without a content type", "POST", "/api/pools/p/backends/a/disable", nil, "", 403},
		{"JSON from another site's page", "PUT", "/api/pools/p/policy", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, `{"policy":"sticky"}`, 403},
		{"a read from another site's page", "GET", "/api/pools", map[string]string{"Origin": "http://evil.example"}, "", 403},
		{"a rebound host name, reading", "GET", "/api/pools", map[string]string{"Host": "evil.example:9000"}, "", 403},
		{"a rebound host name, profiling", "GET", "/debug/pprof/", map[string]string{"Host": "evil.example"}, "", 403},
		{"a rebound host name, writing JSON", "PUT", "/api/pools/p/policy", map[string]string{"Host": "attacker.test", "Content-Type": "application/json"}, `{"policy":"sticky"}`, 403},
		{"the lab's own JSON", "PUT", "/api/pools/p/policy", map[string]string{"Content-Type": "application/json"}, `{"policy":"round-robin"}`, 200},
		{"the status page's own request", "POST", "/api/pools/p/backends/a/enable", map[string]string{"X-Statelab-Admin": "1", "Origin": base}, "", 200},
		{"a read from loopback", "GET", "/api/pools", nil, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.headers {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
	ps, err := admin.Pool(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Backends) != 1 || ps.Backends[0].State != api.Up {
		t.Errorf("after the cross-site attempts the pool is %+v: want its one backend, up", ps.Backends)
	}
}

// TestUpgrade: a WebSocket-style upgrade is joined to its backend byte for
// byte, counted while open, and cut when the backend dies; an upgrade the
// backend refuses is an ordinary answer.
func TestUpgrade(t *testing.T) {
	echo := rawUpgradeBackend(t)
	_, admin := startLB(t, lb.Config{}, lb.PoolSpec{Name: "ws", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "echo", Addr: echo.Addr().String()}}})
	ps, err := admin.Pool(context.Background(), "ws")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ps.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Statelab-Backend") != "echo" {
		t.Fatalf("answer %s, backend %q: want 101 from echo", resp.Status, resp.Header.Get("X-Statelab-Backend"))
	}
	for _, msg := range []string{"hello\n", "a second message\n"} {
		io.WriteString(c, msg)
		got, err := br.ReadString('\n')
		if err != nil || got != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}
	untilBackend(t, admin, "ws", 5*time.Second, func(b api.BackendStatus) error {
		if b.Upgraded != 1 {
			return fmt.Errorf("%d upgraded connections, want 1", b.Upgraded)
		}
		return nil
	})
	echo.Close() // the backend dies: its connections go with it
	echo.closeConns()
	if _, err := br.ReadString('\n'); err == nil || isTimeout(err) {
		t.Fatalf("the connection outlived its backend: %v", err)
	}
	untilBackend(t, admin, "ws", 5*time.Second, func(b api.BackendStatus) error {
		if b.Upgraded != 0 {
			return fmt.Errorf("%d upgraded connections, want 0", b.Upgraded)
		}
		return nil
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// upgradeBackend answers /healthz, and any request asking to upgrade with a
// 101 and then echoes what it reads, line by line.
type upgradeBackend struct {
	net.Listener
	conns chan net.Conn
}

func (u *upgradeBackend) closeConns() {
	for {
		select {
		case c := <-u.conns:
			c.Close()
		default:
			return
		}
	}
}

func rawUpgradeBackend(t *testing.T) *upgradeBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upgradeBackend{Listener: ln, conns: make(chan net.Conn, 64)}
	t.Cleanup(func() { ln.Close(); u.closeConns() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns <- c
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.Header.Get("Upgrade") == "" {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
				io.Copy(c, br)
			}()
		}
	}()
	return u
}

// TestClientLimits: a request header over 64 KiB is refused 431 and a body
// over the limit 413, by the balancer, before any backend sees them; one
// connection beyond MaxConns gets a 503 and the others are still served.
func TestClientLimits(t *testing.T) {
	a := newRecorder(t, "a")
	l := newLab(t, lb.Config{MaxConns: 4}, spec("p", a.backend))
	big := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"
	if got := statusOf(l.rawRequest("p", big)); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 70 KiB header: %d, want 431", got)
	}
	body := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n" + strings.Repeat("b", 1000)
	if got := statusOf(l.rawRequest("p", body)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MB body: %d, want 413", got)
	}
	if paths := a.take(); len(paths) != 0 {
		t.Errorf("the backend saw %v: a refused request reached it", paths)
	}

	// Hold MaxConns connections open, each one served (a request answered
	// 200 and the connection kept alive), then one more. A connection
	// refused because the server had not yet let go of an earlier one is
	// dialed again: only a served one holds a place.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 4; i++ {
		err := poll.Until(context.Background(), 5*time.Second, 20*time.Millisecond, func(context.Context) error {
			c, err := net.Dial("tcp", l.bl.Pool("p").Addr())
			if err != nil {
				return poll.Stop(err)
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			io.WriteString(c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				c.Close()
				return fmt.Errorf("holding connection %d: %v", i+1, err)
			}
			c.SetDeadline(time.Time{})
			held = append(held, c)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := poll.Until(context.Background(), 5*time.Second, 20*time.Millisecond, func(context.Context) error {
		c, err := net.Dial("tcp", l.bl.Pool("p").Addr())
		if err != nil {
			return poll.Stop(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET /one-too-many HTTP/1.1\r\nHost: x\r\n\r\n")
		out, _ := io.ReadAll(c)
		if got := statusOf(string(out)); got != http.StatusServiceUnavailable {
			return fmt.Errorf("connection %d: %d, want 503", len(held)+1, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	// Served again once the server has seen the connections go.
	err = poll.Until(context.Background(), 5*time.Second, 20*time.Millisecond, func(context.Context) error {
		if got := statusOf(l.rawRequest("p", "GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); got != http.StatusOK {
			return fmt.Errorf("%d, want 200", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.healthy("p")
}

// TestAnswerPassesThrough: a backend's answer reaches the client as it was
// sent: no header of the balancer's own invented (a Content-Type the
// backend gave none of), hop-by-hop headers out, trailers of a chunked
// answer kept.
func TestAnswerPassesThrough(t *testing.T) {
	raw := rawBackend(t, "raw", func(c net.Conn, _ *bufio.Reader, _ string) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nConnection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\nX-Checksum: abc123\r\n\r\n")
	})
	l := newLab(t, lb.Config{}, lb.PoolSpec{Name: "raw", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "raw", Addr: raw.raw}}})
	resp, err := http.Get("http://" + l.bl.Pool("raw").Addr() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body" {
		t.Errorf("body %q, want %q", body, "body")
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		t.Errorf("Content-Type %q added to an answer that had none", ct)
	}
	for _, h := range []string{"X-Hop", "Keep-Alive"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("hop-by-hop header %s: %q forwarded", h, v)
		}
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "abc123" {
		t.Errorf("trailer X-Checksum %q, want abc123", got)
	}
}
