package remote

import (
	"context"

	"statelab"
	"statelab/lab"
)

// call is one thing a runner may ask of lab up: what it does to the
// runtime, and whether it names an instance (checked before it runs).
// The server dispatches on this table, and the client's methods name its
// keys; a call added here is a method there.
type call struct {
	instance bool
	run      func(ctx context.Context, rt lab.Runtime, a args) (result, error)
}

// done wraps a call that answers nothing but its error.
func done(f func(ctx context.Context, rt lab.Runtime, a args) error) func(context.Context, lab.Runtime, args) (result, error) {
	return func(ctx context.Context, rt lab.Runtime, a args) (result, error) { return result{}, f(ctx, rt, a) }
}

var calls = map[string]call{
	"kill": {true, done(func(ctx context.Context, rt lab.Runtime, a args) error { return rt.Kill(ctx, a.Name) })},
	"stop": {true, done(func(ctx context.Context, rt lab.Runtime, a args) error { return rt.Stop(ctx, a.Name) })},
	"start": {true, done(func(ctx context.Context, rt lab.Runtime, a args) error {
		return rt.Start(ctx, a.Name, a.Settings)
	})},
	"set-keys": {true, done(func(ctx context.Context, rt lab.Runtime, a args) error {
		return lab.SetKeys(ctx, rt, a.Name, a.Keys)
	})},
	"crash-after-next-write": {true, done(func(ctx context.Context, rt lab.Runtime, a args) error {
		return lab.CrashAfterNextWrite(ctx, rt, a.Name)
	})},
	"instance-url": {true, func(_ context.Context, rt lab.Runtime, a args) (result, error) {
		return result{URL: rt.InstanceURL(a.Name)}, nil
	}},
	"add": {true, func(ctx context.Context, rt lab.Runtime, a args) (result, error) {
		addr, err := rt.Add(ctx, statelab.Variant(a.Variant), a.Name, a.Settings)
		return result{Addr: addr}, err
	}},
	"remove":      {true, done(func(ctx context.Context, rt lab.Runtime, a args) error { return rt.Remove(ctx, a.Name) })},
	"stop-redis":  {false, done(func(ctx context.Context, rt lab.Runtime, _ args) error { return rt.StopRedis(ctx) })},
	"start-redis": {false, done(func(ctx context.Context, rt lab.Runtime, a args) error { return rt.StartRedis(ctx, a.Persist) })},
	"set-redis-latency": {false, done(func(ctx context.Context, rt lab.Runtime, a args) error {
		return lab.SetRedisLatency(ctx, rt, a.Latency)
	})},
	"redis-sent": {false, func(ctx context.Context, rt lab.Runtime, _ args) (result, error) {
		n, err := lab.RedisSent(ctx, rt)
		return result{Sent: n}, err
	}},
	"redis-stats": {false, func(ctx context.Context, rt lab.Runtime, _ args) (result, error) {
		keys, bytes, err := lab.RedisStats(ctx, rt)
		return result{Keys: keys, Bytes: bytes}, err
	}},
	"reset": {false, done(func(ctx context.Context, rt lab.Runtime, _ args) error { return rt.Reset(ctx) })},
}
