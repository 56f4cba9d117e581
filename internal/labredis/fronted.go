package labredis

import (
	"context"
	"fmt"
	"time"

	"statelab/internal/delay"
)

// Fronted is a lab's Redis with a delay proxy in front of it: the instances
// reach Redis through the proxy (which adds nothing until told), the
// runner reaches it directly. Embedded in a runtime that runs Redis
// itself, it is that runtime's Redis methods of lab.Runtime.
type Fronted struct {
	redis Redis
	proxy *delay.Proxy
}

// StartFronted starts a Redis (mode as Start takes it) and a proxy before
// it on a loopback port.
func StartFronted(ctx context.Context, mode string) (*Fronted, error) {
	r, err := Start(ctx, mode)
	if err != nil {
		return nil, err
	}
	p, err := delay.Listen("127.0.0.1:0", r.Addr())
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("the delay proxy before Redis: %w", err)
	}
	return &Fronted{redis: r, proxy: p}, nil
}

// InstancesAddr is where the instances reach Redis: the proxy.
func (f *Fronted) InstancesAddr() string { return f.proxy.Addr() }

// DirectAddr is where the runner reaches Redis itself, not through the
// proxy: to measure it, a delay the proxy adds is not the machine's.
func (f *Fronted) DirectAddr() string { return f.redis.Addr() }

// DescribeRedis says which Redis this is.
func (f *Fronted) DescribeRedis() string { return f.redis.Describe() }

// StopRedis stops Redis and cuts what the instances had open to it.
func (f *Fronted) StopRedis(context.Context) error {
	err := f.redis.Stop()
	f.proxy.Cut()
	return err
}

// StartRedis starts Redis again on its port; with persist, its data
// survive the next stop.
func (f *Fronted) StartRedis(ctx context.Context, persist bool) error {
	return f.redis.Start(ctx, persist)
}

// SetRedisLatency sets the delay the proxy adds to what Redis sends.
func (f *Fronted) SetRedisLatency(_ context.Context, d time.Duration) error {
	return f.proxy.SetDelay(d)
}

// RedisSent counts the bytes the instances have sent Redis.
func (f *Fronted) RedisSent(context.Context) (int64, error) { return f.proxy.Sent(), nil }

// RedisStats counts Redis's keys and value bytes.
func (f *Fronted) RedisStats(ctx context.Context) (int64, int64, error) {
	return Stats(ctx, f.redis.Addr())
}

// ResetRedis leaves Redis running, without persistence, empty, and with
// no delay.
func (f *Fronted) ResetRedis(ctx context.Context) error {
	if err := f.redis.Stop(); err != nil {
		return err
	}
	f.proxy.Cut()
	if err := f.redis.Start(ctx, false); err != nil {
		return err
	}
	if err := Flush(ctx, f.redis.Addr()); err != nil {
		return fmt.Errorf("flush redis: %w", err)
	}
	return f.proxy.SetDelay(0)
}

// CloseRedis ends the proxy and Redis.
func (f *Fronted) CloseRedis() error {
	f.proxy.Close()
	return f.redis.Close()
}
