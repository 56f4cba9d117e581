package delay_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"statelab/internal/delay"
)

// target listens on loopback and serves each connection with serve (which
// closes it), until the test ends; it returns its address.
func target(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// echo is a target that sends back every line it reads.
func echo(t *testing.T) string {
	return target(t, func(c net.Conn) { defer c.Close(); io.Copy(c, c) })
}

// echoThrough starts a proxy to an echo target and a client connection
// through it, which has made one round trip.
func echoThrough(t *testing.T) (*delay.Proxy, net.Conn, *bufio.Reader) {
	t.Helper()
	p, err := delay.Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReader(c)
	roundTrip(t, c, br)
	return p, c, br
}

// lateCopies counts the goroutines copying a target's answers to a client.
func lateCopies() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "delay.(*Proxy).late(")
}

func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	return time.Since(start)
}

// TestDelay: every answer comes at least the delay late, the delay changes
// on open connections, a delay out of range is refused, and Cut ends the
// connections.
func TestDelay(t *testing.T) {
	p, c, br := echoThrough(t)
	if err := p.SetDelay(60 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if d := roundTrip(t, c, br); d < 60*time.Millisecond {
			t.Fatalf("a round trip took %s with a 60 ms delay", d)
		}
	}
	for _, bad := range []time.Duration{-time.Millisecond, delay.MaxDelay + 1} {
		if err := p.SetDelay(bad); err == nil {
			t.Errorf("delay %s taken", bad)
		}
	}
	p.Cut()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("a cut connection still read")
	}
}

// TestControl: the HTTP API reads and sets the delay, and refuses what is
// not a delay with a 400.
func TestControl(t *testing.T) {
	p, err := delay.Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ts := httptest.NewServer(p.Control())
	t.Cleanup(ts.Close)
	if err := delay.Set(ts.Client(), ts.URL, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if p.Delay() != 20*time.Millisecond {
		t.Fatalf("delay %s after setting 20ms", p.Delay())
	}
	for _, body := range []string{`{"delay":"soon"}`, `{"delay":"-1s"}`, `{"delay":"1h"}`, `not json`, `{"delay":"1s","x":1}`, `{"delay":"` + strings.Repeat("1", 4096) + `ms"}`} {
		req, _ := http.NewRequest("PUT", ts.URL+"/delay", strings.NewReader(body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("PUT %s: %d, want 400", body, resp.StatusCode)
		}
	}
	if err := delay.Set(ts.Client(), ts.URL, time.Hour); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("setting an hour: %v, want an error that says out of range", err)
	}
	// The stall, over the API, and what a bad request to it gets.
	if err := delay.SetStall(ts.Client(), ts.URL, true); err != nil || !p.Stalled() {
		t.Fatalf("stall: %v, stalled %t", err, p.Stalled())
	}
	if st, err := delay.Get(ts.Client(), ts.URL); err != nil || !st.Stalled {
		t.Fatalf("state while stalled: %+v, %v", st, err)
	}
	if err := delay.SetStall(ts.Client(), ts.URL, false); err != nil || p.Stalled() {
		t.Fatalf("end of the stall: %v, stalled %t", err, p.Stalled())
	}
	for _, body := range []string{``, `{}`, `{"stall":"yes"}`, `{"stall":true,"x":1}`, `[true]`} {
		req, _ := http.NewRequest("PUT", ts.URL+"/stall", strings.NewReader(body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("PUT /stall %q: %d, want 400", body, resp.StatusCode)
		}
	}
	if err := delay.CutAll(ts.Client(), ts.URL); err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Get(ts.URL + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /cut: %d, want 404 (only POST cuts)", resp.StatusCode)
	}
}

// TestControlHosts: a page on another site that rebinds its own name to
// this machine cannot change the delay: only an IP address, localhost or
// a container's one-label name is answered.
func TestControlHosts(t *testing.T) {
	p, err := delay.Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ts := httptest.NewServer(p.Control())
	t.Cleanup(ts.Close)
	for host, want := range map[string]int{
		"127.0.0.1:6390": 200, "[::1]:6390": 200, "localhost": 200, "redis-delay:6390": 200,
		"evil.example:6390": 403, "127.0.0.1.nip.io": 403,
	} {
		req, _ := http.NewRequest("PUT", ts.URL+"/delay", strings.NewReader(`{"delay":"5s"}`))
		req.Host = host
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
	if p.Delay() != 5*time.Second {
		t.Errorf("delay %s", p.Delay())
	}
}

// TestDrop: with Drop on, what the client sends reaches the target (it
// acts on it), and the answer never reaches the client, whose connection
// is reset; off, a new connection passes again.
func TestDrop(t *testing.T) {
	got := make(chan string, 4)
	addr := target(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			got <- line // applied
			io.WriteString(c, "done "+line)
		}
	})
	p, err := delay.Listen("127.0.0.1:0", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	p.Drop(true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "write 1\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 64)); err == nil || n > 0 {
		t.Fatalf("read %d bytes (%v) of an answer that was to be dropped", n, err)
	} else if !strings.Contains(err.Error(), "reset") {
		t.Errorf("the dropped connection ended with %v, want a reset", err)
	}
	c.Close()
	select {
	case line := <-got:
		if line != "write 1\n" {
			t.Fatalf("the target got %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the target")
	}
	if p.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", p.Dropped())
	}
	p.Drop(false)
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "write 2\n")
	line, err := bufio.NewReader(c2).ReadString('\n')
	if err != nil || line != "done write 2\n" {
		t.Fatalf("after Drop(false): %q, %v", line, err)
	}
}

// TestStall: a stalled proxy holds answers back until the stall ends, then
// sends them in order; a Cut while stalled ends the held connection at
// once, stall or not: its copy ends, and the client reads nothing more.
func TestStall(t *testing.T) {
	p, c, br := echoThrough(t)
	t.Cleanup(func() { p.Stall(false) }) // before Close, should the test fail stalled

	p.Stall(true)
	if !p.Stalled() {
		t.Fatal("Stalled() is false after Stall(true)")
	}
	if _, err := io.WriteString(c, "a\nb\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if line, err := br.ReadString('\n'); err == nil {
		t.Fatalf("read %q through a stalled proxy", line)
	}
	c.SetReadDeadline(time.Time{})
	p.Stall(false)
	for _, want := range []string{"a\n", "b\n"} {
		if line, err := br.ReadString('\n'); err != nil || line != want {
			t.Fatalf("after the stall: read %q, %v; want %q", line, err, want)
		}
	}

	p.Stall(true)
	if _, err := io.WriteString(c, "lost\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Holding() != 1 { // the echo's answer has reached the proxy, and waits
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d answers, want 1", p.Holding())
		}
		time.Sleep(time.Millisecond)
	}
	p.Cut()
	// Still stalled: the held connection's copy must end anyway.
	deadline = time.Now().Add(5 * time.Second)
	for lateCopies() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a Cut while stalled left the connection's copy waiting for the stall to end")
		}
		time.Sleep(time.Millisecond)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := br.ReadString('\n'); err == nil || line != "" {
		t.Fatalf("after a cut while stalled: read %q, %v; want nothing and an error", line, err)
	}
	p.Stall(false)
}
