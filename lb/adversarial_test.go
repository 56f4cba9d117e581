package lb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/poll"
	"statelab/lb"
)

// The adversarial suite: clients that frame requests badly or go away,
// backends that answer badly, and, after each, the checks that matter to
// the lab: healthy clients are served, no backend was marked down for
// someone else's fault, nothing is left in flight, and no client got an
// answer meant for another.

// recorder is a healthy backend that names itself in its body and keeps the
// paths it was asked for.
type recorder struct {
	*backend
	mu    sync.Mutex
	paths []string
}

func newRecorder(t testing.TB, name string) *recorder {
	r := &recorder{}
	r.backend = newBackend(t, name, func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.paths = append(r.paths, req.URL.Path)
		r.mu.Unlock()
		io.Copy(io.Discard, req.Body)
		io.WriteString(w, name+" "+req.URL.Path)
	})
	return r
}

// take returns the paths the recorder was asked for since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.paths
	r.paths = nil
	return out
}

// rawBackend is a backend written at the socket: handle gets each
// connection after its request header was read, and may answer anything.
// Health checks (/healthz) are answered properly.
func rawBackend(t *testing.T, name string, handle func(c net.Conn, br *bufio.Reader, path string)) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if req.URL.Path == "/healthz" {
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
						continue
					}
					handle(c, br, req.URL.Path)
					if req.URL.Path != "/keep" {
						return
					}
				}
			}()
		}
	}()
	b := &backend{name: name}
	b.ts = nil
	b.raw = ln.Addr().String()
	return b
}

// lab is a balancer in front of backends, with its admin client.
type lab struct {
	t     *testing.T
	bl    *lb.Balancer
	admin *api.Client
}

func newLab(t *testing.T, cfg lb.Config, specs ...lb.PoolSpec) *lab {
	t.Helper()
	bl, admin := startLB(t, cfg, specs...)
	return &lab{t: t, bl: bl, admin: admin}
}

// rawRequest sends bytes on a new connection to a pool and returns what
// came back before the connection closed or a second went by quiet.
func (l *lab) rawRequest(pool, data string) string {
	l.t.Helper()
	c, err := net.Dial("tcp", l.bl.Pool(pool).Addr())
	if err != nil {
		l.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	io.WriteString(c, data)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

// healthy checks the lab after a case: 30 fresh clients are each answered by
// the backend their response names, every backend of pool is up, and no
// request is left in flight.
func (l *lab) healthy(pool string) {
	l.t.Helper()
	for i := 0; i < 30; i++ {
		resp, err := http.Get("http://" + l.bl.Pool(pool).Addr() + fmt.Sprintf("/healthy-%d", i))
		if err != nil {
			l.t.Fatalf("a healthy client failed: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := resp.Header.Get(statelab.BackendHeader) + fmt.Sprintf(" /healthy-%d", i)
		if resp.StatusCode != 200 || string(body) != want {
			l.t.Fatalf("a healthy client got %d %q, want 200 %q: an answer crossed between clients, or the pool is broken", resp.StatusCode, body, want)
		}
	}
	err := poll.Until(context.Background(), 5*time.Second, 10*time.Millisecond, func(ctx context.Context) error {
		ps, err := l.admin.Pool(ctx, pool)
		if err != nil {
			return err
		}
		for _, b := range ps.Backends {
			if b.State != api.Up {
				return fmt.Errorf("%s is %s (%s)", b.Name, b.State, b.Why)
			}
			if b.InFlight != 0 {
				return fmt.Errorf("%s has %d requests in flight", b.Name, b.InFlight)
			}
		}
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
}

// TestAdversarialClients: requests framed to smuggle, malformed, too large,
// or sent by clients that go away. Each is refused (400, 431, 413, 505...)
// or re-framed consistently; none reaches a backend as a second request,
// none is blamed on a backend, and healthy clients are served after each.
func TestAdversarialClients(t *testing.T) {
	a, b := newRecorder(t, "a"), newRecorder(t, "b")
	l := newLab(t, lb.Config{}, spec("p", a.backend, b.backend))
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct {
		name, request string
	}{
		{"CL.TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE.CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"},
		{"TE.TE space before colon", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n5c\r\n" + smuggled + "\r\n0\r\n\r\n"},
		{"TE xchunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n" + smuggled},
		{"TE chunked, identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE identity, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE with a tab", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE folded", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE upper case", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE with a NUL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x00\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled},
		{"TE on HTTP/1.0", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled},
		{"CL twice, differing", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nbody" + smuggled},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 40\r\n\r\nbody" + smuggled},
		{"CL plus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nbody" + smuggled},
		{"CL negative", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\nbody" + smuggled},
		{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x4\r\n\r\nbody" + smuggled},
		{"CL with spaces inside", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\nbody" + smuggled},
		{"CL huge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\nbody"},
		{"CL beyond the body limit", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\nbody"},
		{"CL longer than what is sent", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\nbody"},
		{"chunk size not hex", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbody\r\n0\r\n\r\n"},
		{"chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nbody\r\n0\r\n\r\n"},
		{"chunk cut short", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort"},
		{"chunk without CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbodyX0\r\n\r\n"},
		{"no final chunk", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n"},
		{"bare LF line ends", "GET / HTTP/1.1\nHost: x\nContent-Length: 4\n\nbody" + smuggled},
		{"CR without LF", "GET / HTTP/1.1\rHost: x\r\n\r\n"},
		{"space in the header name", "GET / HTTP/1.1\r\nHost: x\r\nContent Length: 4\r\n\r\nbody"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"HTTP/0.9", "GET /\r\n\r\n"},
		{"HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n"},
		{"no Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n"},
		{"absolute URI to elsewhere", "GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"header over 64 KiB", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"},
		{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"},
		{"empty line only", "\r\n\r\n"},
		{"method with a space", "G ET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a.take()
			b.take()
			out := l.rawRequest("p", tc.request)
			if status := statusOf(out); status >= 500 && status != http.StatusHTTPVersionNotSupported {
				t.Errorf("answered %d (a server error) to a client's fault:\n%s", status, firstLine(out))
			}
			// Whatever reached a backend was a request the balancer framed
			// itself and answered to this client: a backend that saw a
			// request whose answer the client did not get saw a smuggled
			// one. (A request pipelined behind a well-framed one, as after
			// "Transfer-Encoding: CHUNKED", is no smuggling: it is answered.)
			for _, r := range []*recorder{a, b} {
				for _, path := range r.take() {
					if !strings.Contains(out, r.name+" "+path) {
						t.Fatalf("%s was asked for %s, and the client never got that answer: a smuggled request; the client got:\n%s", r.name, path, out)
					}
				}
			}
			if strings.Contains(out, "smuggled") && !strings.Contains(out, " /smuggled") {
				t.Errorf("an error echoes what the client sent:\n%s", out)
			}
			l.healthy("p")
		})
	}
}

// TestAdversarialClientsGoAway: clients that close mid-request, or as soon as
// they sent it, never mark a backend down, are never retried, and leave
// nothing in flight.
func TestAdversarialClientsGoAway(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int64
	slow := newBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "slow "+r.URL.Path)
	})
	a := newRecorder(t, "a")
	l := newLab(t, lb.Config{}, spec("slow", slow), spec("p", a.backend))
	for i := 0; i < 5; i++ {
		l.rawRequest("slow", "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc") // body cut short, then gone
		c, err := net.Dial("tcp", l.bl.Pool("slow").Addr())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		c.Close() // gone before the answer
	}
	// The backend was asked once per complete request, never more: a
	// client that left is not retried elsewhere.
	err := poll.Until(context.Background(), 5*time.Second, 10*time.Millisecond, func(context.Context) error {
		if n := hits.Load(); n != 5 {
			return fmt.Errorf("the slow backend got %d requests, want 5", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	l.healthy("p")
	untilBackend(t, l.admin, "slow", 5*time.Second, func(b api.BackendStatus) error {
		if b.State != api.Up || b.InFlight != 0 {
			return fmt.Errorf("slow is %s with %d in flight", b.State, b.InFlight)
		}
		return nil
	})
}

// TestAdversarialBackends: backends that send more than their framing says,
// huge or endless headers, endless 1xx, bodies cut short or never ending,
// or an unasked 101. Each gets its client a 502 (or its one clean answer),
// is never reused for someone else's request, leaves nothing in flight and
// no memory held; a healthy pool beside it stays healthy.
func TestAdversarialBackends(t *testing.T) {
	// written says when a backend has sent its extra bytes.
	written := make(chan struct{}, 1)
	extra := func(c net.Conn, _ *bufio.Reader, path string) {
		switch path {
		case "/extra-same-write":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nsomeone-else's!!")
		case "/extra-later":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond) // the hostile part: a separate, later write
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\nsomeone-else's!!")
		case "/keep":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nmine")
			return
		}
		select {
		case written <- struct{}{}:
		default:
		}
	}
	a := newRecorder(t, "a")
	cases := []struct {
		name   string
		handle func(c net.Conn, br *bufio.Reader, path string)
		want   int
	}{
		{"huge header", func(c net.Conn, _ *bufio.Reader, _ string) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: ")
			chunk := strings.Repeat("a", 64<<10)
			for i := 0; i < 160; i++ { // 10 MiB, never a line end
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}, 502},
		{"endless 1xx", func(c net.Conn, _ *bufio.Reader, _ string) {
			for i := 0; i < 100000; i++ {
				if _, err := io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"); err != nil {
					return
				}
			}
		}, 502},
		{"reset mid-body", func(c net.Conn, _ *bufio.Reader, _ string) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}, 502},
		{"never-ending body", func(c net.Conn, _ *bufio.Reader, _ string) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("b", 64<<10))
			for i := 0; i < 1<<12; i++ { // 256 MiB at most
				if _, err := io.WriteString(c, chunk); err != nil {
					return
				}
			}
		}, 502},
		{"garbage for an answer", func(c net.Conn, _ *bufio.Reader, _ string) {
			io.WriteString(c, "this is not HTTP\r\n\r\n")
		}, 502},
		{"unasked 101", func(c net.Conn, _ *bufio.Reader, _ string) {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		}, 502},
		{"body longer than Content-Length", func(c net.Conn, br *bufio.Reader, path string) { extra(c, br, "/extra-same-write") }, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evil := rawBackend(t, "evil", tc.handle)
			l := newLab(t, lb.Config{Timeout: 2 * time.Second}, lb.PoolSpec{Name: "evil", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "evil", Addr: evil.raw}}}, spec("p", a.backend))
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := http.Get("http://" + l.bl.Pool("evil").Addr() + "/x")
			if err != nil {
				t.Fatalf("the client got no answer at all: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d (%q), want %d", resp.StatusCode, firstLine(string(body)), tc.want)
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
				t.Errorf("the heap grew by %d MB and stayed so", grown>>20)
			}
			untilBackend(t, l.admin, "evil", 5*time.Second, func(b api.BackendStatus) error {
				if b.InFlight != 0 {
					return fmt.Errorf("%d requests in flight", b.InFlight)
				}
				return nil
			})
			l.healthy("p")
		})
	}

	// More than the framing says, on a kept-alive connection: the next
	// request, from another client, must get its own answer.
	for _, path := range []string{"/extra-same-write", "/extra-later"} {
		t.Run("no answer crosses: "+path, func(t *testing.T) {
			evil := rawBackend(t, "evil", extra)
			l := newLab(t, lb.Config{}, lb.PoolSpec{Name: "evil", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "evil", Addr: evil.raw}}})
			get := func(path string) string {
				resp, err := http.Get("http://" + l.bl.Pool("evil").Addr() + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
			for i := 0; i < 20; i++ {
				if got := get(path); got != "ok" {
					t.Fatalf("the first client got %q", got)
				}
				select { // the extra bytes are on the wire
				case <-written:
				case <-time.After(5 * time.Second):
					t.Fatal("the backend never sent its extra bytes")
				}
				if got := get("/keep"); got != "mine" {
					t.Fatalf("the next client got %q: another client's answer", got)
				}
			}
		})
	}
}

func statusOf(raw string) int {
	var proto string
	var code int
	fmt.Sscanf(raw, "%s %d", &proto, &code)
	return code
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// TestWritesNeverResent: backends that read a request and die before
// answering: a write reaches one of them once, and the balancer answers 502
// rather than send it to another, with or without an Idempotency-Key. A
// GET in the same plight is tried again, Retries (2) more times.
func TestWritesNeverResent(t *testing.T) {
	for _, tc := range []struct {
		name, request string
		status, seen  int
	}{
		{"POST", "POST /cart HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 502, 1},
		{"POST with an Idempotency-Key", "POST /cart HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 502, 1},
		{"GET", "GET /cart HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 502, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := 0
			dies := func(c net.Conn, _ *bufio.Reader, path string) {
				mu.Lock()
				seen++
				mu.Unlock()
				// The request was read; the connection ends with no answer.
			}
			l := newLab(t, lb.Config{}, spec("p", rawBackend(t, "a", dies), rawBackend(t, "b", dies)))
			out := l.rawRequest("p", tc.request)
			if got := statusOf(out); got != tc.status {
				t.Fatalf("status %d (%q), want %d", got, firstLine(out), tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tc.seen {
				t.Fatalf("the backends saw the request %d times, want %d", seen, tc.seen)
			}
		})
	}
}
