package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"statelab/internal/term"
	"statelab/lab/remote"
	"statelab/lb"
	"statelab/lb/api"
)

// runWatch is the balancer's live view in a terminal: pools, backends and
// their states, and the latest events, redrawn as they change.
func runWatch(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("watch", "watch [--admin URL] [--admin-token TOKEN] [--once]")
	admin := fs.String("admin", "http://127.0.0.1:9000", "the balancer's admin API (in the workshop stack: http://lb:9000)")
	token := fs.String("admin-token", "", "the admin API's bearer token")
	interval := fs.Duration("interval", 500*time.Millisecond, "time between redraws")
	once := fs.Bool("once", false, "print the state once and exit (also when the output is not a terminal)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *interval < 50*time.Millisecond {
		return UsageError{fmt.Errorf("--interval %s: want 50ms or more", *interval)}
	}
	base := *admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	if u, err := url.Parse(base); *token == "" && err == nil && lb.IsLoopback(net.JoinHostPort(u.Hostname(), "0")) {
		// lab up's balancer wants its token: lab up keeps it where only
		// this user can read it. It goes to a balancer on loopback only.
		if t, err := remote.ReadToken(remote.DefaultSocket()); err == nil {
			*token = t
		}
	}
	client := &api.Client{Base: base, Token: *token}
	st, err := client.Status(ctx)
	if err != nil {
		return StartupError{fmt.Errorf("%v\nIs the balancer running with --admin there? In the workshop stack: docker compose run --rm lab watch --admin http://lb:9000", err)}
	}
	tty := isTerminal(env.Stdout)
	color := tty && env.Getenv("NO_COLOR") == ""
	if *once || !tty {
		io.WriteString(env.Stdout, renderWatch(base, st, nil, color, time.Now(), 0))
		return nil
	}
	w := &watcher{client: client, base: base, color: color, st: st, at: time.Now()}
	go w.follow(ctx, time.Second)
	t := time.NewTicker(*interval)
	defer t.Stop()
	for {
		width, height := termSize(env.Stdout)
		if width <= 0 {
			width, _ = strconv.Atoi(env.Getenv("COLUMNS"))
		}
		if height <= 0 {
			height, _ = strconv.Atoi(env.Getenv("LINES"))
		}
		w.mu.Lock()
		w.width = width
		w.mu.Unlock()
		io.WriteString(env.Stdout, "\x1b[H\x1b[2J"+fitHeight(fitWidth(w.frame(time.Now()), width), height))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		w.poll(ctx)
	}
}

// watcher keeps what lab watch shows: the balancer's last answer, since
// when it has not answered, and the latest events, from a stream that
// reconnects.
type watcher struct {
	client *api.Client
	base   string
	color  bool

	mu      sync.Mutex
	st      api.Status // the last answer
	at      time.Time  // when it came
	failed  time.Time  // since when there is no answer (zero: it answers)
	err     error
	events  []api.Event // the latest, at most maxWatchEvents
	lastID  int64
	lastAt  time.Time
	streams int // event streams opened, for the reconnect line
	width   int // the terminal's, 0 when unknown
}

// wideWatch is the width from which a backend fits on one line.
const wideWatch = 130

const maxWatchEvents = 10

// poll asks the balancer for its state once.
func (w *watcher) poll(ctx context.Context) {
	st, err := w.client.Status(ctx)
	if ctx.Err() != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.failed.IsZero() {
			w.failed = time.Now()
		}
		w.err = err
		return
	}
	w.st, w.at, w.failed, w.err = st, time.Now(), time.Time{}, nil
}

// follow reads the event stream until ctx ends, opening it again, retry
// after it ended, when the balancer comes back. A restarted balancer
// numbers its events from 1 again: the stream is asked for every kept
// event, and only those after the last one shown are added.
func (w *watcher) follow(ctx context.Context, retry time.Duration) {
	for ctx.Err() == nil {
		if stream, err := w.client.Events(ctx, 0); err == nil {
			w.mu.Lock()
			w.streams++
			w.mu.Unlock()
			for ev := range stream {
				w.add(ev)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}

func (w *watcher) add(ev api.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.ID <= w.lastID && !ev.Time.After(w.lastAt) {
		return // seen before the stream was opened again
	}
	w.lastID, w.lastAt = ev.ID, ev.Time
	w.events = append(w.events, ev)
	if len(w.events) > maxWatchEvents {
		w.events = w.events[len(w.events)-maxWatchEvents:]
	}
}

// frame is the screen: while the balancer does not answer, a line that
// says since when, above its last answer.
func (w *watcher) frame(now time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	text := renderWatch(w.base, w.st, append([]api.Event(nil), w.events...), w.color, now, w.width)
	if w.failed.IsZero() {
		return text
	}
	line := fmt.Sprintf("balancer unreachable since %s (%s): %v; retrying. Below: what it said at %s.",
		w.failed.Format("15:04:05"), now.Sub(w.failed).Round(time.Second), w.err, w.at.Format("15:04:05"))
	if w.color {
		line = "\x1b[1;41;97m" + line + "\x1b[0m"
	}
	return line + "\n" + text
}

// fitWidth cuts every line of text to width visible columns (0: as it
// is), keeping colour codes whole, so that a narrow terminal does not
// wrap the table into a mess.
func fitWidth(text string, width int) string {
	if width <= 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = fitLine(line, width)
	}
	return strings.Join(lines, "\n")
}

// fitHeight keeps at most height lines of text (0: all), the last saying
// how many more there are: a frame taller than the terminal would scroll
// on every redraw.
func fitHeight(text string, height int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if height <= 2 || len(lines) <= height-1 {
		return text
	}
	keep := height - 2 // and the line that says so; the last row stays free
	return strings.Join(lines[:keep], "\n") + fmt.Sprintf("\n… %d more lines: a taller terminal shows them\n", len(lines)-keep)
}

func fitLine(line string, width int) string {
	var b strings.Builder
	cols, colored := 0, false
	for i := 0; i < len(line); {
		if line[i] == 0x1b {
			end := strings.IndexByte(line[i:], 'm')
			if end < 0 {
				break
			}
			b.WriteString(line[i : i+end+1])
			colored = line[i:i+end+1] != "\x1b[0m"
			i += end + 1
			continue
		}
		r, size := utf8.DecodeRuneInString(line[i:])
		if cols == width-1 && visible(line[i+size:]) > 0 {
			b.WriteString("…")
			if colored {
				b.WriteString("\x1b[0m")
			}
			return b.String()
		}
		b.WriteRune(r)
		cols++
		i += size
	}
	return b.String()
}

// visible counts the columns of s outside colour codes.
func visible(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b {
			end := strings.IndexByte(s[i:], 'm')
			if end < 0 {
				return n
			}
			i += end + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		n++
		i += size
	}
	return n
}

// renderWatch draws the balancer's state as text.
// On a terminal narrower than wideWatch columns (width), a backend's
// reason goes on a line of its own, so that cutting lines to the width
// does not cut it off.
func renderWatch(base string, st api.Status, events []api.Event, color bool, now time.Time, width int) string {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	toneColor := map[string]string{"good": "32", "bad": "1;31", "warn": "33"}
	// Every string below came from the balancer, which may be anyone's:
	// none may drive the terminal.
	c := term.Clean
	var b strings.Builder
	h := st.Health
	fmt.Fprintf(&b, "%s  %s\nhealth checks: GET %s every %s, timeout %s, rise %d, fall %d\n",
		paint("1", "statelab balancer at "+base), now.Format("15:04:05"),
		c(h.Path), time.Duration(h.IntervalSecond*float64(time.Second)), time.Duration(h.TimeoutSeconds*float64(time.Second)), h.Rise, h.Fall)
	for _, p := range st.Pools {
		in := api.Describe(p.Policy, p.Strict)
		policy := in.Label + " (" + in.Says + ")"
		fmt.Fprintf(&b, "\n%s on %s: %s   retries %d, re-pinned %d, no backend %d, connections %d/%d\n", paint("1", c(p.Name)), c(p.Listen), c(policy), p.Retries, p.Repins, p.NoneUp, p.Connections, p.MaxConnections)
		if p.Shedding != nil {
			fmt.Fprintf(&b, "%s\n", paint("1;31", fmt.Sprintf("  NOT ACCEPTING since %s: out of file descriptors, retrying", p.Shedding.Format("15:04:05"))))
		}
		for _, be := range p.Backends {
			state := fmt.Sprintf("%-8s", c(string(be.State)))
			held := "holds -"
			if be.Sessions != nil {
				held = fmt.Sprintf("holds %d", *be.Sessions)
			}
			why := "  " + c(be.Why)
			if width > 0 && width < wideWatch {
				why = "\n      why: " + c(be.Why)
			}
			fmt.Fprintf(&b, "  %-10s %s %-9s %7s ago  requests %-7d errors %-4d in flight %-3d%s\n",
				c(be.Name), paint(toneColor[be.Tone], state), held, now.Sub(be.Changed).Round(100*time.Millisecond), be.Requests, be.Errors, be.InFlight, why)
		}
	}
	if len(events) > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint("1", "latest events"))
		for _, ev := range events {
			line := fmt.Sprintf("  %s  %-16s %s", ev.Time.Local().Format("15:04:05.000"), c(string(ev.Type)), c(ev.Pool))
			if ev.Backend != "" {
				line += "/" + c(ev.Backend)
			}
			if ev.Reason != "" {
				line += "  " + c(ev.Reason)
			}
			if ev.DetectSeconds > 0 {
				line += fmt.Sprintf("  (%.3f s after its last answer)", ev.DetectSeconds)
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
