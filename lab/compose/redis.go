package compose

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"statelab/internal/delay"
	"statelab/internal/labredis"
	"statelab/internal/poll"
	"statelab/servers/store/redisstore"
)

// StopRedis stops the Redis container (SIGTERM).
func (rt *Runtime) StopRedis(ctx context.Context) error { return rt.Stop(ctx, "redis") }

// StartRedis starts Redis again; when persistence differs from what the
// container runs with, the container is recreated with --appendonly set
// accordingly, on the same data volume.
func (rt *Runtime) StartRedis(ctx context.Context, persist bool) error {
	id, info, err := rt.container(ctx, "redis")
	if err != nil {
		return err
	}
	orig, _ := original(info)
	appendonly := "no"
	if persist {
		appendonly = "yes"
	}
	want := withFlag(orig.Cmd, "--appendonly", appendonly)
	if !slices.Equal(want, info.Config.Cmd) {
		if _, err := rt.recreate(ctx, "redis", info, func(c *container.Config) { c.Cmd = want }); err != nil {
			return err
		}
	} else if !info.State.Running {
		if _, err := rt.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("start redis: %w", err)
		}
	}
	return rt.waitRedis(ctx)
}

// SetRedisLatency sets the delay the redis-delay service adds.
func (rt *Runtime) SetRedisLatency(_ context.Context, d time.Duration) error {
	return delay.Set(&http.Client{Timeout: 5 * time.Second}, rt.opts.Delay, d)
}

// RedisSent counts the bytes the instances have sent Redis, as the
// redis-delay service saw them.
func (rt *Runtime) RedisSent(context.Context) (int64, error) {
	st, err := delay.Get(&http.Client{Timeout: 5 * time.Second}, rt.opts.Delay)
	return st.Sent, err
}

// RedisStats counts Redis's keys and value bytes.
func (rt *Runtime) RedisStats(ctx context.Context) (keys, bytes int64, err error) {
	return labredis.Stats(ctx, rt.opts.Redis)
}

func (rt *Runtime) resetRedis(ctx context.Context) error {
	_, info, err := rt.container(ctx, "redis")
	if err != nil {
		return err
	}
	if orig, changed := original(info); changed {
		if info.State.Running {
			// Empty it while the append-only file still records it, so that
			// a later start with persistence does not bring old data back.
			if err := labredis.Flush(ctx, rt.opts.Redis); err != nil {
				return err
			}
		}
		if _, err := rt.recreate(ctx, "redis", info, func(c *container.Config) { c.Cmd = orig.Cmd }); err != nil {
			return err
		}
	} else if !info.State.Running {
		if _, err := rt.cli.ContainerStart(ctx, info.ID, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("start redis: %w", err)
		}
	}
	if err := rt.waitRedis(ctx); err != nil {
		return err
	}
	return labredis.Flush(ctx, rt.opts.Redis)
}

func (rt *Runtime) waitRedis(ctx context.Context) error {
	rdb := redisstore.Client(rt.opts.Redis, time.Second)
	defer rdb.Close()
	err := poll.Until(ctx, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	})
	if err != nil {
		return fmt.Errorf("redis does not answer PING: %w", err)
	}
	return nil
}
