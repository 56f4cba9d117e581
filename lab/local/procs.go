package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/child"
	"statelab/lab"
)

// startInstance starts p on its port (a new free one when fresh) and waits
// until it answers /healthz as itself: another process on that port (which
// took it in between) must not pass for it.
func (rt *Runtime) startInstance(ctx context.Context, p *instance, s lab.Settings, fresh bool) error {
	rt.mu.Lock()
	eff := s.Over(rt.tuned).Over(lab.Settings{RedisTimeout: rt.opts.RedisTimeout})
	p.given, p.settings = s, eff
	rt.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if fresh {
			addr, err := rt.ports.Addr()
			if err != nil {
				return err
			}
			p.addr = addr
		}
		args := []string{"server",
			"--variant", string(p.variant),
			"--name", p.name,
			"--addr", p.addr,
			"--redis", rt.InstancesAddr(),
			"--cookie-name", statelab.SessionCookie + "_" + string(p.variant),
			"--keys-file", rt.keysFile(p.name),
			"--log-level", "warn",
		}
		if burst := 2 * rt.opts.Users; burst > 1000 {
			args = append(args, "--login-burst", strconv.Itoa(burst))
		}
		err := p.Start(rt.exe, args, childEnv(eff.Env()), rt.opts.Logs)
		if err == nil {
			err = p.WaitReady(ctx, 10*time.Second, func(ctx context.Context) error {
				h, err := lab.Health(ctx, "http://"+p.addr)
				switch {
				case err != nil:
					return err
				case h.Instance != p.name || h.Variant != string(p.variant):
					return fmt.Errorf("%s answers as %s %s, not as %s %s", p.addr, h.Variant, h.Instance, p.variant, p.name)
				}
				return nil
			})
		}
		if err == nil {
			return nil
		}
		p.End(syscall.SIGKILL)
		if fresh && attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue // the free port was taken in between: pick another
		}
		return fmt.Errorf("start %s: %w", p.name, err)
	}
}

func (rt *Runtime) startLB(ctx context.Context) error {
	args := []string{"lb", "--cookie-per-pool", "--log-level", "warn"}
	if rt.opts.HealthInterval > 0 {
		args = append(args, "--health-interval", rt.opts.HealthInterval.String())
	}
	if rt.opts.Policy != "" {
		args = append(args, "--policy", rt.opts.Policy)
	}
	// pick is a given address, or a free one.
	pick := func(given string) (string, error) {
		if given != "" {
			return given, nil
		}
		return rt.ports.Addr()
	}
	for attempt := 0; ; attempt++ {
		a := append([]string{}, args...)
		want := map[string]string{} // pool → listen address
		for _, v := range statelab.Variants {
			listen, err := pick(rt.opts.Pools[v])
			if err != nil {
				return err
			}
			var backends []string
			for _, name := range rt.Instances(v) {
				p, err := rt.proc(name)
				if err != nil {
					return err
				}
				backends = append(backends, name+"@"+p.addr)
			}
			a = append(a, "--pool", string(v)+"="+listen+"="+strings.Join(backends, ","))
			rt.pools[v] = "http://" + listen
			want[string(v)] = listen
		}
		admin, err := pick(rt.opts.Admin)
		if err != nil {
			return err
		}
		rt.admin = "http://" + admin
		a = append(a, "--admin", admin)
		rt.lb = &child.Process{Name: "lb", Unexpected: rt.unexpected}
		err = rt.lb.Start(rt.exe, a, childEnv(map[string]string{"STATELAB_ADMIN_TOKEN": rt.adminToken}), rt.opts.Logs)
		if err == nil {
			// Ready when the admin API there lists our pools on our ports.
			client := &api.Client{Base: rt.admin, Token: rt.adminToken}
			err = rt.lb.WaitReady(ctx, 10*time.Second, func(ctx context.Context) error {
				st, err := client.Status(ctx)
				if err != nil {
					return err
				}
				for _, p := range st.Pools {
					if want[p.Name] == p.Listen {
						delete(want, p.Name)
					}
				}
				if len(want) > 0 {
					return fmt.Errorf("the balancer at %s does not serve the pools it was given", rt.admin)
				}
				return nil
			})
		}
		if err == nil {
			return nil
		}
		rt.lb.End(syscall.SIGKILL)
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") && len(rt.opts.Pools) == 0 && rt.opts.Admin == "" {
			continue
		}
		return fmt.Errorf("start the balancer: %w", err)
	}
}

// writeKeysFile writes a keys file; no keys remove it.
func writeKeysFile(path string, keys statelab.Keys) error {
	if keys.Empty() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, keys.Format(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path) // a reload never reads half a file
}

// childEnv is the environment of a child: this process's, without any
// STATELAB_ setting (the lab sets those itself), plus env.
func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STATELAB_") {
			out = append(out, kv)
		}
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// instance is a server instance of the lab.
type instance struct {
	child.Process
	name    string
	variant statelab.Variant
	addr    string
	// given are the settings its last start was given; settings what it
	// runs with (given, over the lab's base).
	given, settings lab.Settings
}
