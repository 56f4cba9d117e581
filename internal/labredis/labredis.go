// Package labredis is the Redis of a lab that runs on this machine: a real
// redis-server child process when one is on PATH, else an embedded,
// Redis-compatible server (miniredis) inside the lab's own process. The
// local and in-process runtimes stop it, start it with or without
// persistence, empty it and count what it holds.
package labredis

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"

	"statelab/internal/delay"
	"statelab/internal/redisserver"
	"statelab/servers/store/redisstore"
)

// Redis is a lab's Redis.
type Redis interface {
	// Addr is its host:port; it stays the same across stops and starts.
	Addr() string
	// Describe says which Redis it is, for the run's header.
	Describe() string
	// Stop stops it as SIGTERM does; without persistence its data are gone.
	Stop() error
	// Start starts it again if it is stopped; with persist it keeps an
	// append-only file from then on, so that its data survive a stop.
	Start(ctx context.Context, persist bool) error
	// Close ends it for good.
	Close() error
}

// Modes of Start.
const (
	Auto     = "auto"     // redis-server when on PATH, else embedded
	Server   = "server"   // redis-server, or an error
	Embedded = "embedded" // miniredis, in this process
)

// Start starts a Redis in the given mode on a free loopback port.
func Start(ctx context.Context, mode string) (Redis, error) {
	switch mode {
	case Auto, Server, "":
		srv, err := redisserver.Start(ctx, redisserver.Options{})
		if err == nil {
			return &realRedis{srv: srv}, nil
		}
		if mode == Server || !errors.Is(err, redisserver.ErrNotFound) {
			return nil, fmt.Errorf("redis: %w", err)
		}
		return startEmbedded("because no redis-server is on PATH")
	case Embedded:
		return startEmbedded("as asked")
	}
	return nil, fmt.Errorf("redis mode %q: want auto, server or embedded", mode)
}

// realRedis is a redis-server child process.
type realRedis struct{ srv *redisserver.Server }

func (r *realRedis) Addr() string { return r.srv.Addr }
func (r *realRedis) Describe() string {
	return fmt.Sprintf("redis-server %s on %s", r.srv.Version, r.srv.Addr)
}
func (r *realRedis) Stop() error { return r.srv.Stop() }
func (r *realRedis) Start(ctx context.Context, persist bool) error {
	if r.srv.Running() {
		return nil
	}
	return r.srv.Restart(ctx, persist)
}
func (r *realRedis) Close() error { return r.srv.Close() }

// embeddedRedis is miniredis inside the lab's own process. It has no files:
// "persistence" keeps its data across a stop, which is what an append-only
// file does for redis-server, and a stop without it empties it.
//
// Its clients reach it through a gate, a proxy that adds no delay: a stop
// closes the gate (every connection cut, each new one closed at once), not
// miniredis. Closing miniredis while a client's command is under way
// (INFO, from a page polling /stats) crashes the lab's process inside
// miniredis.
type embeddedRedis struct {
	mu      sync.Mutex
	m       *miniredis.Miniredis
	gate    *delay.Proxy
	address string
	running bool
	persist bool
	why     string // why the lab runs this one
}

func startEmbedded(why string) (*embeddedRedis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true) // let TTLs count down with the clock, as in Redis
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	gate, err := delay.Listen("127.0.0.1:0", m.Addr())
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	return &embeddedRedis{m: m, gate: gate, address: gate.Addr(), running: true, why: why}, nil
}

func (e *embeddedRedis) Addr() string { return e.address }
func (e *embeddedRedis) Describe() string {
	return fmt.Sprintf("embedded Redis (miniredis, in the lab's process) on %s, %s", e.address, e.why)
}

func (e *embeddedRedis) Stop() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return nil
	}
	e.gate.Hold(true)
	if !e.persist {
		e.m.FlushAll()
	}
	e.running = false
	return nil
}

func (e *embeddedRedis) Start(_ context.Context, persist bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return nil
	}
	e.gate.Hold(false)
	e.running, e.persist = true, persist
	return nil
}

func (e *embeddedRedis) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gate.Close() // every client gone before miniredis goes
	e.m.Close()
	e.running = false
	return nil
}

// Flush empties the Redis at addr, and records the time: the lab was
// reset, and a page whose session vanished can say so.
func Flush(ctx context.Context, addr string) error {
	rdb := redisstore.Client(addr, 2*time.Second)
	defer rdb.Close()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return err
	}
	return redisstore.MarkReset(ctx, rdb, time.Now())
}

// Stats counts the keys of the Redis at addr and the bytes of their names
// and string values.
func Stats(ctx context.Context, addr string) (keys, bytes int64, err error) {
	rdb := redisstore.Client(addr, 2*time.Second)
	defer rdb.Close()
	return redisstore.RecordSizes(ctx, rdb)
}

// ServerOnPath reports whether redis-server is on PATH.
func ServerOnPath() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}
