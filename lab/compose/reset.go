package compose

import (
	"context"
	"fmt"
	"slices"
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
	if err := rt.closeReplicas(ctx); err != nil {
		return err
	}
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
	id, info, err := rt.container(ctx, name)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	keyed := rt.keyed[name]
	delete(rt.keyed, name)
	rt.mu.Unlock()
	orig, _ := original(info)
	if env := withEnv(orig.Env, rt.tunedSettings().Env()); !slices.Equal(env, info.Config.Env) || !slices.Equal(orig.Cmd, info.Config.Cmd) {
		if _, err := rt.recreate(ctx, name, info, func(c *container.Config) { c.Env, c.Cmd = env, orig.Cmd }); err != nil {
			return err
		}
		return lab.WaitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz", 30*time.Second)
	}
	if keyed {
		if err := rt.writeKeys(ctx, id, statelab.Keys{}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if info.State.Running && !keyed && !rt.variantOf(name).Describe().DiesWithProcess() {
		return nil
	}
	timeout := 10
	if _, err := rt.cli.ContainerRestart(ctx, id, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return lab.WaitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz", 30*time.Second)
}

// Tune makes s the base settings of every instance, over compose's, and
// recreates at once those that run otherwise. Close puts compose's back.
func (rt *Runtime) Tune(ctx context.Context, s lab.Settings) error {
	rt.mu.Lock()
	rt.tuned = s
	rt.mu.Unlock()
	return parallel.Do(rt.base(), func(name string) error {
		_, info, err := rt.container(ctx, name)
		if err != nil {
			return err
		}
		orig, _ := original(info)
		if slices.Equal(withEnv(orig.Env, s.Env()), info.Config.Env) {
			return nil
		}
		return rt.Start(ctx, name, lab.Settings{})
	})
}

func (rt *Runtime) tunedSettings() lab.Settings {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.tuned
}

// Close undoes every fault: the stack is reset, as compose configured it,
// and the balancer's pools put back as they were when the run began.
func (rt *Runtime) Close() error {
	defer rt.cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt.mu.Lock()
	rt.tuned = lab.Settings{}
	rt.mu.Unlock()
	err := rt.Reset(ctx)
	if rerr := rt.lb.Restore(ctx, rt.policies); err == nil {
		err = rerr
	}
	return err
}
