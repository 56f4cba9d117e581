package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"

	"statelab/internal/redisserver"
	"statelab/servers/store/redisstore"
)

// redis is the lab's Redis: a real redis-server, or an embedded one.
type redis interface {
	addr() string
	describe() string
	stop() error
	start(ctx context.Context, persist bool) error
	close() error
}

// realRedis is a redis-server child process.
type realRedis struct{ srv *redisserver.Server }

func (r *realRedis) addr() string { return r.srv.Addr }
func (r *realRedis) describe() string {
	return fmt.Sprintf("redis-server %s on %s", r.srv.Version, r.srv.Addr)
}
func (r *realRedis) stop() error { return r.srv.Stop() }
func (r *realRedis) start(ctx context.Context, persist bool) error {
	if r.srv.Running() {
		return nil
	}
	return r.srv.Restart(ctx, persist)
}
func (r *realRedis) close() error { return r.srv.Close() }

// embeddedRedis is miniredis inside the lab's own process. It has no files:
// "persistence" keeps its data across a stop, which is what an append-only
// file does for redis-server, and a stop without it empties it.
type embeddedRedis struct {
	mu      sync.Mutex
	m       *miniredis.Miniredis
	address string
	running bool
	persist bool
}

func startEmbedded() (*embeddedRedis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true) // let TTLs count down with the clock, as in Redis
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded redis: %w", err)
	}
	return &embeddedRedis{m: m, address: m.Addr(), running: true}, nil
}

func (e *embeddedRedis) addr() string { return e.address }
func (e *embeddedRedis) describe() string {
	return fmt.Sprintf("embedded Redis (miniredis, in the lab's process) on %s, because no redis-server is on PATH", e.address)
}

func (e *embeddedRedis) stop() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return nil
	}
	e.m.Close()
	if !e.persist {
		e.m.FlushAll()
	}
	e.running = false
	return nil
}

func (e *embeddedRedis) start(_ context.Context, persist bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return nil
	}
	if err := e.m.StartAddr(e.address); err != nil {
		return fmt.Errorf("embedded redis: %w", err)
	}
	e.m.ClockTTL(true)
	e.running, e.persist = true, persist
	return nil
}

func (e *embeddedRedis) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m.Close()
	e.running = false
	return nil
}

// flush empties a running Redis.
func flush(ctx context.Context, addr string) error {
	rdb := redisstore.Client(addr, 2*time.Second)
	defer rdb.Close()
	return rdb.FlushAll(ctx).Err()
}

// stats counts a Redis's keys and the bytes of their string values.
func stats(ctx context.Context, addr string) (keys, bytes int64, err error) {
	rdb := redisstore.Client(addr, 2*time.Second)
	defer rdb.Close()
	return redisstore.Sizes(ctx, rdb, "*")
}
