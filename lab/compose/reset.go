package compose

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"statelab"
	"statelab/internal/parallel"
	"statelab/lab"
)

// Reset puts the stack back as compose made it: added containers removed,
// recreated ones recreated as compose configured them, keys files emptied,
// the memory instances restarted (empty memory), every instance running,
// Redis running without persistence and empty. Redis and jwt instances that
// nothing changed keep running: they hold nothing to forget.
func (rt *Runtime) Reset(ctx context.Context) error {
	for _, name := range rt.addedNames() {
		if err := rt.Remove(ctx, name); err != nil {
			return err
		}
	}
	if err := rt.resetRedis(ctx); err != nil {
		return err
	}
	if err := rt.SetRedisLatency(ctx, 0); err != nil {
		return err
	}
	return parallel.Do(rt.base(), func(name string) error { return rt.resetInstance(ctx, name) })
}

func (rt *Runtime) addedNames() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]string, 0, len(rt.added))
	for n := range rt.added {
		out = append(out, n)
	}
	return out
}

func (rt *Runtime) resetInstance(ctx context.Context, name string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	info, err := rt.inspect(ctx, id)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	keyed := rt.keyed[name]
	delete(rt.keyed, name)
	rt.mu.Unlock()
	if orig, changed := original(info); changed {
		if _, err := rt.recreate(ctx, name, info, func(c *container.Config) { c.Env, c.Cmd = orig.Env, orig.Cmd }); err != nil {
			return err
		}
		return lab.WaitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz", 30*time.Second)
	}
	if keyed {
		if err := rt.writeKeys(ctx, id, statelab.Keys{}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if info.State.Running && !keyed && rt.variantOf(name) != statelab.Memory {
		return nil
	}
	timeout := 10
	if _, err := rt.cli.ContainerRestart(ctx, id, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return lab.WaitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz", 30*time.Second)
}

// Close undoes every fault: the stack is reset and the balancer's pools put
// back as they were when the run began.
func (rt *Runtime) Close() error {
	defer rt.cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := rt.Reset(ctx)
	if rerr := rt.lb.Restore(ctx, rt.policies); err == nil {
		err = rerr
	}
	return err
}
