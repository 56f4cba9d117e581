package cli

import (
	"context"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"statelab/lb/api"

	"statelab/internal/poll"
	"statelab/lb"
)

// adminAt serves a new balancer's admin API on addr ("": any port).
func adminAt(t *testing.T, addr string) (*lb.Balancer, *httptest.Server) {
	t.Helper()
	bl, err := lb.New(lb.Config{Policy: api.Sticky}, lb.PoolSpec{Name: "jwt", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "jwt-1", Addr: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := bl.Admin(lb.AdminOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Listener = l
	ts.Start()
	t.Cleanup(func() { stopServer(ts) })
	return bl, ts
}

// stopServer ends a server and its open streams at once.
func stopServer(ts *httptest.Server) {
	ts.CloseClientConnections()
	ts.Close()
}

// TestWatchUnreachable: when the balancer stops answering, every frame
// says since when, above the pools it showed last (not a header alone);
// when it answers again, the line goes.
func TestWatchUnreachable(t *testing.T) {
	_, ts := adminAt(t, "")
	addr := ts.Listener.Addr().String()
	w := &watcher{client: &api.Client{Base: ts.URL}, base: ts.URL}
	ctx := context.Background()
	w.poll(ctx)
	if f := w.frame(time.Now()); !strings.Contains(f, "jwt-1") || strings.Contains(f, "unreachable") {
		t.Fatalf("while it answers:\n%s", f)
	}
	stopServer(ts)
	for i := range 3 {
		w.poll(ctx)
		f := w.frame(time.Now())
		if !strings.HasPrefix(f, "balancer unreachable since ") || !strings.Contains(f, "Below: what it said at") || !strings.Contains(f, "jwt-1") {
			t.Fatalf("redraw %d while it does not answer:\n%s", i+1, f)
		}
	}
	adminAt(t, addr)
	w.poll(ctx)
	if f := w.frame(time.Now()); strings.Contains(f, "unreachable") || !strings.Contains(f, "jwt-1") {
		t.Fatalf("after it came back:\n%s", f)
	}
}

// TestWatchReconnects: the event stream is opened again after the
// balancer restarts, and the new balancer's events show although its ids
// start from 1 again.
func TestWatchReconnects(t *testing.T) {
	bl, ts := adminAt(t, "")
	addr := ts.Listener.Addr().String()
	w := &watcher{client: &api.Client{Base: ts.URL}, base: ts.URL}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.follow(ctx, 20*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFrame := func(what, want string) {
		t.Helper()
		err := poll.Until(ctx, 10*time.Second, 10*time.Millisecond, func(context.Context) error {
			if !strings.Contains(w.frame(time.Now()), want) {
				return errTest(what)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s:\n%s", err, w.frame(time.Now()))
		}
	}
	if err := bl.Pool("jwt").Backend("jwt-1").Do(api.Drain); err != nil {
		t.Fatal(err)
	}
	waitFrame("the first balancer's drain", "backend_draining")
	stopServer(ts)
	bl2, _ := adminAt(t, addr)
	if err := bl2.Pool("jwt").Backend("jwt-1").Do(api.Disable); err != nil {
		t.Fatal(err)
	}
	waitFrame("the restarted balancer's disable", "backend_disabled")
	f := w.frame(time.Now())
	if strings.Count(f, "backend_draining") != 1 {
		t.Errorf("the drain shown %d times after the reconnect:\n%s", strings.Count(f, "backend_draining"), f)
	}
}

type errTest string

func (e errTest) Error() string { return "no " + string(e) + " yet" }

// TestFitWidth: lines are cut to the terminal's width, colour codes kept
// whole and closed.
func TestFitWidth(t *testing.T) {
	red := "\x1b[1;31m"
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"abcdefghij", 0, "abcdefghij"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcdefghi…"},
		{"a·b·c·d·e·f", 5, "a·b·…"},
		{"ab" + red + "cdefgh\x1b[0m", 5, "ab" + red + "cd…\x1b[0m"},
		{"ab" + red + "cd\x1b[0m", 4, "ab" + red + "cd\x1b[0m"},
		{"one long line\nshort", 6, "one l…\nshort"},
	} {
		if got := fitWidth(tc.in, tc.width); got != tc.want {
			t.Errorf("fitWidth(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestWatchNarrow: on a narrow terminal a backend's reason gets a line
// of its own, within the width.
func TestWatchNarrow(t *testing.T) {
	st := api.Status{Pools: []api.PoolStatus{{Name: "memory", Backends: []api.BackendStatus{{Name: "memory-2", State: api.Down, Why: "active: dial: connect: connection refused", Changed: time.Now()}}}}}
	now := time.Now()
	wide := renderWatch("http://x", st, nil, false, now, 200)
	narrow := fitWidth(renderWatch("http://x", st, nil, false, now, 80), 80)
	if !strings.Contains(wide, "  active: dial") || strings.Contains(wide, "why:") {
		t.Errorf("wide:\n%s", wide)
	}
	if !strings.Contains(narrow, "\n      why: active: dial: connect: connection refused\n") {
		t.Errorf("narrow:\n%s", narrow)
	}
	for _, line := range strings.Split(narrow, "\n") {
		if utf8.RuneCountInString(line) > 80 {
			t.Errorf("a line over 80 columns: %q", line)
		}
	}
}

// TestFitHeight: a frame taller than the terminal is cut, saying how
// much, and leaves the last row free (no scroll on every redraw).
func TestFitHeight(t *testing.T) {
	text := "1\n2\n3\n4\n5\n"
	for _, tc := range []struct {
		height int
		want   string
	}{
		{0, text},
		{6, text},
		{5, "1\n2\n3\n… 2 more lines: a taller terminal shows them\n"},
		{3, "1\n… 4 more lines: a taller terminal shows them\n"},
	} {
		if got := fitHeight(text, tc.height); got != tc.want {
			t.Errorf("fitHeight(%d) = %q, want %q", tc.height, got, tc.want)
		}
	}
}

// TestWatchHostileStrings: a balancer's names, reasons and events cannot
// drive the terminal: no escape reaches the frame, in colour or not,
// except the lab's own colours.
func TestWatchHostileStrings(t *testing.T) {
	evil := "\x1b[2J\x1b]52;c;aGk=\x07\u009b1A"
	st := api.Status{Health: api.HealthSettings{Path: "/h" + evil}, Pools: []api.PoolStatus{{Name: "p" + evil, Listen: evil,
		Backends: []api.BackendStatus{{Name: "b" + evil, State: api.State("up" + evil), Why: "why" + evil, Changed: time.Now()}}}}}
	events := []api.Event{{Type: api.EventType("t" + evil), Pool: evil, Backend: evil, Reason: evil}}
	for _, color := range []bool{false, true} {
		out := renderWatch("http://x", st, events, color, time.Now(), 200)
		own := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
		if strings.ContainsAny(own, "\x1b\x07\u009b") {
			t.Errorf("colour %v: a control character reached the frame: %q", color, own)
		}
	}
}
