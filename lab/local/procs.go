package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"statelab"
	"statelab/internal/child"
	"statelab/internal/redisserver"
	"statelab/lab"
)

// startInstance starts p on its port (a new free one when fresh) and waits
// until it answers /healthz.
func (rt *Runtime) startInstance(ctx context.Context, p *instance, s lab.Settings, fresh bool) error {
	for attempt := 0; ; attempt++ {
		if fresh {
			port, err := redisserver.FreePort()
			if err != nil {
				return err
			}
			p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		args := []string{"server",
			"--variant", string(p.variant),
			"--name", p.name,
			"--addr", p.addr,
			"--redis", rt.redis.Addr(),
			"--cookie-name", statelab.SessionCookie + "_" + string(p.variant),
			"--keys-file", rt.keysFile(p.name),
			"--log-level", "warn",
		}
		err := p.Start(rt.exe, args, childEnv(s.Env()), rt.opts.Logs)
		if err == nil {
			err = p.WaitHTTP(ctx, "http://"+p.addr+"/healthz", 10*time.Second)
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
	for attempt := 0; ; attempt++ {
		ports := make([]int, 4)
		for i := range ports {
			port, err := redisserver.FreePort()
			if err != nil {
				return err
			}
			ports[i] = port
		}
		a := append([]string{}, args...)
		for i, v := range statelab.Variants {
			var backends []string
			for _, name := range rt.Instances(v) {
				backends = append(backends, name+"@"+rt.procs[name].addr)
			}
			listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i]))
			a = append(a, "--pool", string(v)+"="+listen+"="+strings.Join(backends, ","))
			rt.pools[v] = "http://" + listen
		}
		rt.admin = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[3]))
		a = append(a, "--admin", rt.admin[len("http://"):])
		rt.lb = &child.Process{Name: "lb", Unexpected: rt.unexpected}
		err := rt.lb.Start(rt.exe, a, childEnv(nil), rt.opts.Logs)
		if err == nil {
			err = rt.lb.WaitHTTP(ctx, rt.admin+"/api/pools", 10*time.Second)
		}
		if err == nil {
			return nil
		}
		rt.lb.End(syscall.SIGKILL)
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
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
}
