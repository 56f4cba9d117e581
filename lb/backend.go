package lb

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"statelab/lb/api"
)

// Admin states of a backend, set by actions.
const (
	adminEnabled  int32 = iota // takes new users and pinned ones
	adminDraining              // takes only users already pinned to it
	adminDisabled              // takes nobody
)

// Backend is one server behind a pool.
type Backend struct {
	// Name identifies the backend in the sticky cookie, the admin API and
	// metrics. Addr is host:port, resolved again on every dial so that a
	// restarted container with a new address is found.
	Name string
	Addr string

	pool     *Pool
	upstream *upstream
	cookie   string // the Set-Cookie value pinning a user here

	healthy   atomic.Bool
	admin     atomic.Int32
	inflight  atomic.Int64
	upgraded  atomic.Int64 // connections switched to another protocol (WebSockets), open now
	lastOK    atomic.Int64 // unix nanos of the last answer (check or request)
	lastCheck atomic.Int64 // unix nanos of the end of the last active check
	sessions  atomic.Int64 // what the last good check's body said the backend holds; -1: nothing
	strays    atomic.Int64 // connections closed for bytes the backend sent unasked

	stats backendStats

	mu         sync.Mutex // guards what follows
	changedAt  time.Time
	why        string
	rise, fall int // consecutive check successes and failures

	stopChecks context.CancelFunc
	checksDone chan struct{}
}

func newBackend(p *Pool, name, addr string) *Backend {
	b := &Backend{Name: name, Addr: addr, pool: p}
	b.sessions.Store(-1)
	b.upstream = &upstream{
		addr:   func() string { return b.Addr },
		dialer: &net.Dialer{Timeout: p.cfg.ConnectTimeout, KeepAlive: 30 * time.Second},
	}
	if p.bl != nil {
		b.upstream.fds = p.bl.fds
	}
	b.upstream.stray = func(where string) {
		b.strays.Add(1)
		p.cfg.Logger.Warn("backend sent bytes nobody asked for; connection closed", "pool", p.Name, "backend", name, "when", where)
	}
	b.cookie = (&http.Cookie{Name: p.cookie, Value: name, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}).String()
	// Up until a check says otherwise: a request that finds it down is
	// retried elsewhere, so optimism costs nothing.
	b.healthy.Store(true)
	b.changedAt = time.Now()
	b.why = "added, not checked yet"
	return b
}

// takesNew reports whether the backend may receive a user not pinned to it.
func (b *Backend) takesNew() bool {
	return b.healthy.Load() && b.admin.Load() == adminEnabled
}

// takesPinned reports whether the backend may keep a user pinned to it.
func (b *Backend) takesPinned() bool {
	return b.healthy.Load() && b.admin.Load() != adminDisabled
}

func (b *Backend) answered() { b.answeredAt(time.Now()) }

// answeredAt records an answer that ended at t.
func (b *Backend) answeredAt(t time.Time) { b.lastOK.Store(t.UnixNano()) }

// setHealth records a health change and, if it is one, emits an event.
func (b *Backend) setHealth(up bool, why string) {
	if b.healthy.Load() == up {
		return
	}
	b.mu.Lock()
	if b.healthy.Load() == up { // lost a race with another detector
		b.mu.Unlock()
		return
	}
	b.healthy.Store(up)
	now := time.Now()
	b.changedAt, b.why = now, why
	b.rise, b.fall = 0, 0
	b.mu.Unlock()
	ev := Event{Pool: b.pool.Name, Backend: b.Name, Reason: why}
	if up {
		ev.Type = api.EventUp
	} else {
		ev.Type = api.EventDown
		if last := b.lastOK.Load(); last > 0 {
			ev.DetectSeconds = now.Sub(time.Unix(0, last)).Seconds()
		}
		b.upstream.closeIdle()
	}
	b.pool.emit(ev)
}

// Do applies an action and emits an event.
func (b *Backend) Do(a Action) error {
	var state int32
	var typ EventType
	var why string
	switch a {
	case Drain:
		state, typ, why = adminDraining, api.EventDrain, "drained by the admin API: takes only users pinned to it"
	case Disable:
		state, typ, why = adminDisabled, api.EventDisable, "disabled by the admin API: takes nobody"
	case Enable:
		state, typ, why = adminEnabled, api.EventEnable, "enabled by the admin API: its health checks decide"
	default:
		return fmt.Errorf("unknown action %q (want drain, disable or enable)", a)
	}
	b.admin.Store(state)
	b.mu.Lock()
	b.changedAt, b.why = time.Now(), why
	b.mu.Unlock()
	b.pool.emit(Event{Type: typ, Pool: b.pool.Name, Backend: b.Name, Reason: "admin API"})
	return nil
}

func (b *Backend) status() BackendStatus {
	b.mu.Lock()
	changed, why := b.changedAt, b.why
	b.mu.Unlock()
	return BackendStatus{
		Name:     b.Name,
		Addr:     b.Addr,
		State:    b.State(),
		Tone:     b.State().Tone(),
		Healthy:  b.healthy.Load(),
		InFlight: b.inflight.Load(),
		Upgraded: b.upgraded.Load(),
		Strays:   b.strays.Load(),
		Requests: b.stats.requests(),
		Errors:   b.stats.errorsTotal(),
		Changed:  changed,
		Why:      why,
		Checked:  time.Unix(0, b.lastCheck.Load()),
		Sessions: held(b.sessions.Load()),
	}
}

// held is a count a backend reported, or nil when it reported none.
func held(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// State is how the backend is now.
func (b *Backend) State() State {
	switch b.admin.Load() {
	case adminDisabled:
		return Disabled
	case adminDraining:
		return Draining
	}
	if b.healthy.Load() {
		return Up
	}
	return Down
}
