package lb

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"statelab/lb/api"

	"statelab"
)

// Pool is a set of interchangeable backends behind one listen address.
type Pool struct {
	Name   string
	Listen string

	bl       *Balancer
	cfg      Config
	addr     string                     // actual listen address, after Open
	cookie   string                     // name of the sticky cookie
	backends atomic.Pointer[[]*Backend] // copy on write: the hot path never locks
	policy   atomic.Pointer[setting]
	next     atomic.Uint64 // the position of policies that go in turn

	mu      sync.Mutex // serialises changes to the backend list
	started bool

	retries      atomic.Int64
	repins       atomic.Int64
	noneUp       atomic.Int64
	clientErrors atomic.Int64 // requests refused for the client's own fault

	// Client connections, bounded (guard.go).
	clients        *perAddress
	clientConnsMax int
	upgraders      *perAddress // upgraded connections, per client address
	upgradesMax    int         // the pool's share of the balancer's
	refusedFull    atomic.Int64
	refusedAddress atomic.Int64
	acceptErrors   atomic.Int64
	sheddingSince  atomic.Int64 // unix nanos; 0: accepting
}

func newPool(bl *Balancer, name, listen string) *Pool {
	p := &Pool{Name: name, Listen: listen, bl: bl, cfg: bl.cfg, cookie: statelab.AffinityCookie,
		clients: newPerAddress(bl.cfg.MaxPerAddress), clientConnsMax: bl.cfg.MaxConns, upgraders: newPerAddress(bl.cfg.MaxUpgradesPerAddress)}
	if bl.cfg.CookiePerPool {
		p.cookie = statelab.AffinityCookie + "_" + name
	}
	p.backends.Store(&[]*Backend{})
	set, _ := newSetting(bl.cfg.Policy, bl.cfg.Strict) // checked by Config.withDefaults
	p.policy.Store(set)
	return p
}

// Addr is the address the pool listens on (after Open).
func (p *Pool) Addr() string { return p.addr }

// Cookie is the name of the pool's sticky cookie.
func (p *Pool) Cookie() string { return p.cookie }

// Policy returns the pool's policy.
func (p *Pool) Policy() Policy { return p.policy.Load().name }

// Strict reports whether sticky routing is strict.
func (p *Pool) Strict() bool { return p.policy.Load().strict }

// SetPolicy switches the policy; the next request uses it.
func (p *Pool) SetPolicy(name Policy, strict bool) error {
	set, err := newSetting(name, strict)
	if err != nil {
		return err
	}
	old := p.policy.Swap(set)
	reason := fmt.Sprintf("%s -> %s", old.name, name)
	if name.Pins() {
		reason += fmt.Sprintf(" (strict %v)", set.strict)
	}
	p.emit(Event{Type: api.EventPolicy, Pool: p.Name, Policy: name, Strict: set.strict, Reason: reason})
	return nil
}

// Backends returns the pool's backends.
func (p *Pool) Backends() []*Backend { return *p.backends.Load() }

// Backend returns the backend with this name, or nil.
func (p *Pool) Backend(name string) *Backend {
	for _, b := range p.Backends() {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Errors of the admin operations.
var (
	ErrExists   = errors.New("already exists")
	ErrNotFound = errors.New("not found")
)

// Add adds a backend and starts checking it. It takes traffic once a check
// has found it up.
func (p *Pool) Add(name, addr string) (*Backend, error) { return p.add(name, addr, true) }

func (p *Pool) add(name, addr string, announce bool) (*Backend, error) {
	if err := validBackend(name, addr); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.Backends()
	for _, b := range old {
		if b.Name == name {
			return nil, fmt.Errorf("backend %q: %w", name, ErrExists)
		}
	}
	b := newBackend(p, name, addr)
	list := append(append(make([]*Backend, 0, len(old)+1), old...), b)
	p.backends.Store(&list)
	if p.started {
		b.startChecks()
	}
	if announce {
		p.emit(Event{Type: api.EventAdded, Pool: p.Name, Backend: name, Reason: addr})
	}
	return b, nil
}

// Remove removes a backend. Requests in flight to it finish.
func (p *Pool) Remove(name string) error {
	p.mu.Lock()
	old := p.Backends()
	list := make([]*Backend, 0, len(old))
	var gone *Backend
	for _, b := range old {
		if b.Name == name {
			gone = b
			continue
		}
		list = append(list, b)
	}
	if gone == nil {
		p.mu.Unlock()
		return fmt.Errorf("backend %q: %w", name, ErrNotFound)
	}
	p.backends.Store(&list)
	p.mu.Unlock()
	gone.stopChecking()
	gone.upstream.closeIdle()
	p.emit(Event{Type: api.EventRemoved, Pool: p.Name, Backend: name})
	return nil
}

func validBackend(name, addr string) error {
	if name == "" || strings.ContainsAny(name, " ;,=@/\"\\") {
		return fmt.Errorf("backend name %q: want letters, digits, dots, dashes or underscores", name)
	}
	host, port, ok := strings.Cut(addr, ":")
	if !ok || host == "" || port == "" || strings.Contains(port, ":") {
		return fmt.Errorf("backend %s: address %q is not host:port", name, addr)
	}
	return nil
}

func (p *Pool) startChecks() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = true
	for _, b := range p.Backends() {
		b.startChecks()
	}
}

func (p *Pool) stopChecks() {
	for _, b := range p.Backends() {
		b.stopChecking()
	}
}

func (p *Pool) emit(ev Event) {
	p.bl.events.publish(ev)
	log := p.cfg.Logger
	attrs := []any{"pool", ev.Pool}
	if ev.Backend != "" {
		attrs = append(attrs, "backend", ev.Backend)
	}
	if ev.Reason != "" {
		attrs = append(attrs, "why", ev.Reason)
	}
	if ev.Type == api.EventDown {
		attrs = append(attrs, "detect_seconds", ev.DetectSeconds)
		log.Warn(string(ev.Type), attrs...)
		return
	}
	log.Info(string(ev.Type), attrs...)
}

// pick chooses a backend for a request by the pool's policy, given the
// backend its sticky cookie names ("" when none). It returns errNoBackend
// when none can take it, and for a strict sticky pool whose pinned backend
// is gone an error wrapping errPinnedGone.
func (p *Pool) pick(pinned string, st *attempt) (*Backend, error) {
	return p.policy.Load().impl.pick(p, p.Backends(), pinned, st)
}

// another picks a backend other than failed for a retry, by the pool's
// policy.
func (p *Pool) another(st *attempt, failed *Backend) *Backend {
	return p.policy.Load().impl.retry(p, p.Backends(), st, failed)
}

var (
	errNoBackend  = errors.New("no backend is up")
	errPinnedGone = errors.New("the backend this user is pinned to is gone")
)

// Status returns the pool's status.
func (p *Pool) Status() PoolStatus {
	pol := p.policy.Load()
	ps := PoolStatus{
		Name: p.Name, Listen: p.addr, Policy: pol.name, Strict: pol.strict, Cookie: p.cookie,
		Retries: p.retries.Load(), Repins: p.repins.Load(), NoneUp: p.noneUp.Load(), ClientErrors: p.clientErrors.Load(),
		Connections: p.clients.open(), MaxConnections: p.clientConnsMax, MaxPerAddress: p.clients.max,
		RefusedFull: p.refusedFull.Load(), RefusedAddress: p.refusedAddress.Load(), AcceptErrors: p.acceptErrors.Load(),
		Backends: []BackendStatus{},
	}
	if since := p.Shedding(); !since.IsZero() {
		ps.Shedding = &since
	}
	in := api.Describe(pol.name, pol.strict)
	ps.Label, ps.Says = in.Label, in.Says
	for _, b := range p.Backends() {
		ps.Backends = append(ps.Backends, b.status())
	}
	return ps
}

// attempt is the state of one client request across its tries.
type attempt struct {
	backend      *Backend
	tries        int
	pinned       bool   // strict sticky: this user must stay on backend
	setCookie    bool   // sticky: pin the client to the backend that answers
	repinnedFrom string // sticky: the backend the client was pinned to
}
