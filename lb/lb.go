// Package lb is statelab's load balancer: pools of backends behind
// round-robin, least-connections or sticky (cookie affinity) routing, with
// active and passive health checks, retries of requests that never reached a
// backend, and an admin API to switch policy, drain, disable, enable, add and
// remove backends while it runs.
//
// Each pool serves its clients with fasthttp's server, which parses and
// bounds what they send (a malformed request is answered 400 there and
// never reaches a backend). A Pool picks a backend by its policy (one small
// type per policy, in roundrobin.go, leastconn.go and sticky.go), writes
// the request on a kept-alive connection to it, and reads the whole answer
// with fasthttp's response parser, bounded, before the client sees any of
// it (proxy.go): a backend that breaks off mid-answer gets the client a
// 502, never half a response, and a connection is kept only when its
// answer ended exactly where its framing said, and not on a 5xx. A backend
// that refuses a connection is marked down at once, one whose dial times
// out counts toward Fall, and the request is tried on another either way;
// a WebSocket is joined to its backend byte for byte (upgrade.go). Every
// connection comes out of one budget of file descriptors, split across
// the pools and bounded per client address (guard.go). It is
// small on purpose, so that a student can read why a user was re-pinned,
// or why a request got a 503.
package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"statelab/lb/api"

	"github.com/valyala/fasthttp"
)

// Config is shared by every pool of a balancer. Zero fields take the defaults
// noted.
type Config struct {
	// Policy is each pool's policy at start. Default round-robin.
	Policy Policy
	// Strict, with the sticky policy, answers 503 when a user's pinned
	// backend is gone, instead of re-pinning the user (Envoy's strict
	// stateful sessions versus HAProxy's redispatch). Default false.
	Strict bool
	// HealthPath is checked on every backend. Default /healthz.
	HealthPath string
	// HealthInterval is the time between active checks. Default 250ms.
	HealthInterval time.Duration
	// HealthTimeout bounds one check. Default 1s: a dead backend refuses at
	// once; only a hung one waits for the timeout, and a short timeout takes
	// busy backends for dead ones.
	HealthTimeout time.Duration
	// Rise and Fall are the consecutive check results that bring a backend
	// up or down. A refused connection or an unknown host is down at once:
	// nobody is listening there. Defaults 2 and 2.
	Rise, Fall int
	// ConnectTimeout bounds a dial to a backend. Default 500ms.
	ConnectTimeout time.Duration
	// Timeout bounds the wait for a backend's response headers; past it the
	// client gets a 504. Default 10s.
	Timeout time.Duration
	// Retries is how many other backends a request may be tried on after
	// the first could not be reached. Default 2.
	Retries int
	// NoRetryIdempotent turns off retrying GET, HEAD and OPTIONS requests
	// that failed after the connection was made but before any response,
	// as nginx's proxy_next_upstream error does. A write that may have
	// reached its backend is never sent again, Idempotency-Key or not: the
	// key is for the client's retry.
	// Default true; set NoRetryIdempotent to turn it off.
	NoRetryIdempotent bool
	// MaxConns bounds each pool's client connections; one more is answered
	// 503 and closed. Default: the pool's share of the file descriptors
	// the process may open (two for each client connection: its own and
	// one to a backend), at most 10,000.
	MaxConns int
	// MaxPerAddress bounds one client address's connections to a pool.
	// Default: a quarter of MaxConns, at least 64 (never more than
	// MaxConns).
	MaxPerAddress int
	// MaxUpgrades bounds the upgraded connections (WebSockets) of the whole
	// balancer, split evenly across its pools; one more is answered 503.
	// Default 1024.
	MaxUpgrades int
	// MaxUpgradesPerAddress bounds one client address's upgraded
	// connections to a pool. Default: a quarter of the pool's share, at
	// least 16.
	MaxUpgradesPerAddress int
	// ClientTimeout bounds the time a client takes to take an answer, and
	// an upgraded connection's writes. Default 30s.
	ClientTimeout time.Duration
	// ReadTimeout bounds the time a client takes to send a whole request
	// (then 408), and how long an idle kept-alive connection stays open.
	// Default 10s.
	ReadTimeout time.Duration
	// UpgradeIdle closes an upgraded connection on which nothing moved,
	// either way, for this long. Default 2m.
	UpgradeIdle time.Duration
	// CookiePerPool names each pool's sticky cookie statelab_backend_POOL
	// instead of statelab_backend. Browsers send a host's cookies to every
	// port of it, so pools on one host that share a cookie name would keep
	// re-pinning one browser's user back and forth. Default false.
	CookiePerPool bool
	// Logger receives state changes. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Policy == "" {
		c.Policy = RoundRobin
	}
	if _, err := api.ParsePolicy(string(c.Policy)); err != nil {
		return c, err
	}
	if c.HealthPath == "" {
		c.HealthPath = "/healthz"
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 250 * time.Millisecond
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = time.Second
	}
	if c.Rise <= 0 {
		c.Rise = 2
	}
	if c.Fall <= 0 {
		c.Fall = 2
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 500 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 2
	}
	if c.MaxUpgrades <= 0 {
		c.MaxUpgrades = 1024
	}
	if c.ClientTimeout <= 0 {
		c.ClientTimeout = 30 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.UpgradeIdle <= 0 {
		c.UpgradeIdle = 2 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Limits on what a client may send.
const (
	maxRequestHeader = 64 << 10 // bytes of a request's header: beyond, 431
	maxRequestBody   = 1 << 20  // bytes of a request's body: beyond, 413
)

// Balancer is a set of pools, each on its own listen address, with one admin
// API over all of them.
type Balancer struct {
	cfg    Config
	pools  []*Pool
	byName map[string]*Pool
	events *hub
	start  time.Time

	servers []*fasthttp.Server
	lns     []net.Listener
	conns   *upgrades
	fds     *descriptors // the process's file descriptors (guard.go)
	wg      sync.WaitGroup
}

// PoolSpec describes a pool at start: its name, listen address and backends.
type PoolSpec struct {
	Name     string
	Listen   string
	Backends []BackendSpec
}

// BackendSpec is a backend's name and host:port.
type BackendSpec struct {
	Name string
	Addr string
}

// New builds a balancer. Nothing listens or checks until Open.
func New(cfg Config, specs ...PoolSpec) (*Balancer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, errors.New("no pool: give at least one --pool NAME=LISTEN=BACKEND,...")
	}
	bl := &Balancer{cfg: cfg, byName: map[string]*Pool{}, events: newHub(512), start: time.Now(), conns: newUpgrades(cfg.MaxUpgrades),
		fds: &descriptors{max: descriptorBudget()}}
	bl.cfg = bl.shares(len(specs))
	for _, s := range specs {
		if _, dup := bl.byName[s.Name]; dup {
			return nil, fmt.Errorf("pool %q given twice", s.Name)
		}
		p := newPool(bl, s.Name, s.Listen)
		for _, bs := range s.Backends {
			if _, err := p.add(bs.Name, bs.Addr, false); err != nil {
				return nil, fmt.Errorf("pool %s: %w", s.Name, err)
			}
		}
		bl.pools = append(bl.pools, p)
		bl.byName[s.Name] = p
	}
	for _, p := range bl.pools {
		p.upgradesMax = max(cfg.MaxUpgrades/len(bl.pools), 1)
	}
	return bl, nil
}

// shares sets the per-pool bounds the config leaves to their defaults:
// each pool's share of the descriptors and upgrades, and each client
// address's part of a pool's.
func (bl *Balancer) shares(pools int) Config {
	c := bl.cfg
	if c.MaxConns <= 0 {
		c.MaxConns = min(max(int(bl.fds.max)/(2*pools), 16), 10_000)
	}
	if c.MaxPerAddress <= 0 {
		c.MaxPerAddress = max(c.MaxConns/4, 64)
	}
	c.MaxPerAddress = min(c.MaxPerAddress, c.MaxConns)
	if c.MaxUpgradesPerAddress <= 0 {
		c.MaxUpgradesPerAddress = max(c.MaxUpgrades/pools/4, 16)
	}
	return c
}

// Pools returns the pools in the order given.
func (bl *Balancer) Pools() []*Pool { return bl.pools }

// Pool returns the pool with this name, or nil.
func (bl *Balancer) Pool(name string) *Pool { return bl.byName[name] }

// Open listens on every pool's address, so that an address in use fails here,
// and starts the health checks. Serve then serves.
func (bl *Balancer) Open() error {
	for _, p := range bl.pools {
		ln, err := net.Listen("tcp", p.Listen)
		if err != nil {
			bl.closeListeners()
			return fmt.Errorf("pool %s: %w", p.Name, err)
		}
		p.addr = ln.Addr().String()
		bl.lns = append(bl.lns, p.guard(ln))
		bl.servers = append(bl.servers, p.server())
	}
	for _, p := range bl.pools {
		p.startChecks()
	}
	return nil
}

func (bl *Balancer) closeListeners() {
	for _, ln := range bl.lns {
		ln.Close()
	}
	bl.lns = nil
}

// Serve serves every pool until Shutdown.
func (bl *Balancer) Serve() error {
	errc := make(chan error, len(bl.pools))
	for i, p := range bl.pools {
		srv, ln := bl.servers[i], bl.lns[i]
		bl.cfg.Logger.Info("pool serving", "pool", p.Name, "addr", ln.Addr().String(), "policy", p.Policy(), "backends", len(p.Backends()))
		bl.wg.Add(1)
		go func() {
			defer bl.wg.Done()
			if err := srv.Serve(ln); err != nil {
				errc <- fmt.Errorf("pool %s: %w", p.Name, err)
			}
		}()
	}
	bl.wg.Wait()
	close(errc)
	return <-errc
}

// Shutdown stops the pools gracefully (requests in flight finish, within
// ctx), closes the upgraded connections, and stops the health checks.
func (bl *Balancer) Shutdown(ctx context.Context) error {
	var err error
	for _, s := range bl.servers {
		if e := s.ShutdownWithContext(ctx); e != nil && err == nil {
			err = e
		}
	}
	bl.conns.closeAll()
	bl.closeListeners()
	for _, p := range bl.pools {
		p.stopChecks()
		for _, b := range p.Backends() {
			b.upstream.closeIdle()
		}
	}
	bl.events.close()
	return err
}
