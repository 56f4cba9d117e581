package inproc

import (
	"context"
	"time"

	"statelab/internal/labredis"
)

// StopRedis stops the embedded Redis: without persistence it forgets.
func (rt *Runtime) StopRedis(context.Context) error {
	err := rt.redis.Stop()
	rt.delay.Cut() // what the instances had open to it ends with it
	return err
}

// SetRedisLatency sets the delay the proxy between the instances and Redis
// adds.
func (rt *Runtime) SetRedisLatency(_ context.Context, d time.Duration) error {
	return rt.delay.SetDelay(d)
}

// RedisSent counts the bytes the instances have sent Redis.
func (rt *Runtime) RedisSent(context.Context) (int64, error) { return rt.delay.Sent(), nil }

// StartRedis starts the embedded Redis again.
func (rt *Runtime) StartRedis(ctx context.Context, persist bool) error {
	return rt.redis.Start(ctx, persist)
}

// RedisStats counts Redis's keys and value bytes.
func (rt *Runtime) RedisStats(ctx context.Context) (int64, int64, error) {
	return labredis.Stats(ctx, rt.redis.Addr())
}
