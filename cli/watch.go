package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"statelab/lb"
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
	client := &lb.Client{Base: base, Token: *token}
	st, err := client.Status(ctx)
	if err != nil {
		return StartupError{fmt.Errorf("%v\nIs the balancer running with --admin there? In the workshop stack: docker compose run --rm lab watch --admin http://lb:9000", err)}
	}
	tty := isTerminal(env.Stdout)
	color := tty && env.Getenv("NO_COLOR") == ""
	if *once || !tty {
		io.WriteString(env.Stdout, renderWatch(base, st, nil, color, time.Now()))
		return nil
	}

	var mu sync.Mutex
	var events []lb.Event
	if stream, err := client.Events(ctx, 0); err == nil {
		go func() {
			for ev := range stream {
				mu.Lock()
				events = append(events, ev)
				if len(events) > 10 {
					events = events[len(events)-10:]
				}
				mu.Unlock()
			}
		}()
	}
	t := time.NewTicker(*interval)
	defer t.Stop()
	for {
		mu.Lock()
		evs := append([]lb.Event(nil), events...)
		mu.Unlock()
		io.WriteString(env.Stdout, "\x1b[H\x1b[2J"+renderWatch(base, st, evs, color, time.Now()))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next, err := client.Status(ctx)
		switch {
		case errors.Is(err, context.Canceled):
			return nil
		case err != nil:
			st.Pools = nil // shown as unreachable below
			io.WriteString(env.Stdout, "\x1b[H\x1b[2J"+fmt.Sprintf("statelab balancer at %s: unreachable (%v); retrying\n", base, err))
			continue
		}
		st = next
	}
}

// renderWatch draws the balancer's state as text.
func renderWatch(base string, st lb.Status, events []lb.Event, color bool, now time.Time) string {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	stateColor := map[lb.State]string{lb.Up: "32", lb.Down: "1;31", lb.Draining: "33", lb.Disabled: "2"}
	var b strings.Builder
	h := st.Health
	fmt.Fprintf(&b, "%s  %s\nhealth checks: GET %s every %s, timeout %s, rise %d, fall %d\n",
		paint("1", "statelab balancer at "+base), now.Format("15:04:05"),
		h.Path, time.Duration(h.IntervalSecond*float64(time.Second)), time.Duration(h.TimeoutSeconds*float64(time.Second)), h.Rise, h.Fall)
	for _, p := range st.Pools {
		policy := string(p.Policy)
		switch {
		case p.Policy == lb.Sticky && p.Strict:
			policy += " (strict: 503 when the pinned backend is gone)"
		case p.Policy == lb.Sticky:
			policy += " (re-pin when the pinned backend is gone)"
		}
		fmt.Fprintf(&b, "\n%s on %s: %s   retries %d, re-pinned %d, no backend %d\n", paint("1", p.Name), p.Listen, policy, p.Retries, p.Repins, p.NoneUp)
		for _, be := range p.Backends {
			state := fmt.Sprintf("%-8s", be.State)
			fmt.Fprintf(&b, "  %-10s %s in flight %-3d requests %-7d errors %-4d %8s ago  %s\n",
				be.Name, paint(stateColor[be.State], state), be.InFlight, be.Requests, be.Errors, now.Sub(be.Changed).Round(100*time.Millisecond), be.Why)
		}
	}
	if len(events) > 0 {
		fmt.Fprintf(&b, "\n%s\n", paint("1", "latest events"))
		for _, ev := range events {
			line := fmt.Sprintf("  %s  %-16s %s", ev.Time.Local().Format("15:04:05.000"), ev.Type, ev.Pool)
			if ev.Backend != "" {
				line += "/" + ev.Backend
			}
			if ev.Reason != "" {
				line += "  " + ev.Reason
			}
			if ev.DetectSeconds > 0 {
				line += fmt.Sprintf("  (%.3f s after its last answer)", ev.DetectSeconds)
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
