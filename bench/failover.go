package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/parallel"
	"statelab/internal/poll"
	"statelab/lab"
	"statelab/lab/local"
	"statelab/scenarios"
)

// FailoverRow is what a SIGKILL of one instance cost one variant.
type FailoverRow struct {
	Variant statelab.Variant
	// Passive is the time from the kill to the balancer marking the
	// instance down while users were busy (a request found it gone);
	// Active, with nobody using the lab (a health check found it).
	Passive, Active time.Duration
	PassiveWhy      string
	ActiveWhy       string
	// Requests sent by the busy users from the kill until they stopped,
	// those that failed (5xx or no connection), and those answered 401
	// (sessions lost, for the memory variant).
	Requests, Failed, Lost int
}

// Failover starts a local lab, keeps users of every variant busy, kills
// instance 2 of each variant with SIGKILL and counts what it cost; then, on
// a reset lab with nobody busy, kills again and times the health checks.
func Failover(ctx context.Context, o Options) ([]FailoverRow, error) {
	rt, err := local.Start(ctx, local.Options{Exe: o.Exe})
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	ep := rt.Endpoints()
	admin := &api.Client{Base: ep.Admin}
	for _, v := range statelab.Variants {
		if err := admin.SetPolicy(ctx, string(v), api.Sticky, false); err != nil {
			return nil, err
		}
	}
	events := &eventList{}
	stream, err := admin.Events(ctx, -1)
	if err != nil {
		return nil, err
	}
	go events.follow(stream)

	rows := map[statelab.Variant]*FailoverRow{}
	for _, v := range statelab.Variants {
		rows[v] = &FailoverRow{Variant: v}
	}

	// Busy: o.Concurrency users per variant, each asking who it is in a loop.
	type counters struct{ requests, failed, lost atomic.Int64 }
	after := map[statelab.Variant]*counters{}
	var killed atomic.Bool
	busy, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: 4 * o.Concurrency}
	defer tr.CloseIdleConnections()
	for _, v := range statelab.Variants {
		c := &counters{}
		after[v] = c
		for i := 0; i < o.Concurrency; i++ {
			u, err := scenarios.NewUser(v, fmt.Sprintf("failover%02d", i), nil, ep.Pools[v], tr, nil, nil)
			if err != nil {
				return nil, err
			}
			if r := u.Login(ctx); !r.OK() {
				return nil, fmt.Errorf("%s: login: status %d %v", v, r.Status, r.Err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for busy.Err() == nil {
					o, _ := u.Probe(busy)
					if !killed.Load() || busy.Err() != nil {
						continue
					}
					c.requests.Add(1)
					switch o {
					case scenarios.Unavailable:
						c.failed.Add(1)
					case scenarios.Refused, scenarios.Lost: // a 401: this bench keeps no record of where sessions were
						c.lost.Add(1)
					}
				}
			}()
		}
	}
	finish := func() { stop(); wg.Wait() }
	if err := pause(ctx, time.Second); err != nil { // users busy before the kill
		finish()
		return nil, err
	}
	killed.Store(true)
	kills, err := killAll(ctx, rt)
	if err != nil {
		finish()
		return nil, err
	}
	for _, v := range statelab.Variants {
		d, why, err := events.downAfter(ctx, string(v)+"-2", kills[v])
		if err != nil {
			finish()
			return nil, err
		}
		rows[v].Passive, rows[v].PassiveWhy = d, why
	}
	if err := pause(ctx, 2*time.Second); err != nil { // users go on after the kill
		finish()
		return nil, err
	}
	finish()
	for _, v := range statelab.Variants {
		rows[v].Requests = int(after[v].requests.Load())
		rows[v].Failed = int(after[v].failed.Load())
		rows[v].Lost = int(after[v].lost.Load())
	}

	// Idle: a reset lab, nobody busy, the same kill.
	reset := time.Now()
	if err := rt.Reset(ctx); err != nil {
		return nil, err
	}
	if err := admin.WaitAllUp(ctx, reset, 20*time.Second); err != nil {
		return nil, err
	}
	kills, err = killAll(ctx, rt)
	if err != nil {
		return nil, err
	}
	var out []FailoverRow
	for _, v := range statelab.Variants {
		d, why, err := events.downAfter(ctx, string(v)+"-2", kills[v])
		if err != nil {
			return nil, err
		}
		rows[v].Active, rows[v].ActiveWhy = d, why
		out = append(out, *rows[v])
	}
	return out, nil
}

// pause waits for d, or until ctx ends: a measurement window, not a wait
// for something to happen.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// eventList keeps the balancer's events as they stream in.
type eventList struct {
	mu     sync.Mutex
	events []api.Event
}

func (l *eventList) follow(stream <-chan api.Event) {
	for ev := range stream {
		l.mu.Lock()
		l.events = append(l.events, ev)
		l.mu.Unlock()
	}
}

// downAfter waits for the balancer to report name down after t0, and says
// how long it took and whether a request (passive) or a check (active)
// found it.
func (l *eventList) downAfter(ctx context.Context, name string, t0 time.Time) (d time.Duration, how string, err error) {
	err = poll.Until(ctx, 5*time.Second, 5*time.Millisecond, func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, ev := range l.events {
			if ev.Type == api.EventDown && ev.Backend == name && !ev.Time.Before(t0) {
				d, how = ev.Time.Sub(t0), "active"
				if strings.HasPrefix(ev.Reason, "passive") {
					how = "passive"
				}
				return nil
			}
		}
		return fmt.Errorf("no backend_down for %s", name)
	})
	return d, how, err
}

// killAll sends SIGKILL to instance 2 of every variant at once and returns
// when each was sent.
func killAll(ctx context.Context, rt lab.Runtime) (map[statelab.Variant]time.Time, error) {
	var mu sync.Mutex
	at := map[statelab.Variant]time.Time{}
	err := parallel.Do(statelab.Variants, func(v statelab.Variant) error {
		t := time.Now()
		err := rt.Kill(ctx, string(v)+"-2")
		mu.Lock()
		at[v] = t
		mu.Unlock()
		return err
	})
	return at, err
}
