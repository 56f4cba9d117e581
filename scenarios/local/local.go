// Package local runs the lab as local processes of the lab binary itself:
// three `lab server` instances per variant, a `lab lb` with one pool per
// variant, and Redis (a real redis-server when one is on PATH, else an
// embedded one), all on free loopback ports. Killing an instance is a real
// SIGKILL of its process; every process it starts ends when the lab ends.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"statelab/internal/child"
	"statelab/internal/redisserver"
	"statelab/scenarios"
	"statelab/servers"
)

// Options configure the local lab. Zero fields take the defaults noted.
type Options struct {
	// Exe is the lab binary to start children from. Default: this process's
	// own executable.
	Exe string
	// Redis is "auto" (redis-server when on PATH, else embedded), "server"
	// or "embedded". Default auto.
	Redis string
	// Instances per variant. Default 3.
	Instances int
	// HealthInterval of the balancer. Default: the balancer's own default.
	HealthInterval time.Duration
	// Logs, when set, receives every child's output, each line prefixed
	// with its name.
	Logs io.Writer
}

// Runtime is a lab of local processes. It implements scenarios.Runtime.
type Runtime struct {
	opts   Options
	exe    string
	dir    string // the instances' keys files
	redis  redis
	lb     *child.Process
	admin  string
	pools  map[servers.Variant]string
	mu     sync.Mutex
	procs  map[string]*instance // instances by name
	base   map[string]bool      // the instances of the base lab
	closed bool
}

var _ scenarios.Runtime = (*Runtime)(nil)

// Start starts the whole lab and waits until the balancer sees every
// instance up. On error, everything already started is ended.
func Start(ctx context.Context, opts Options) (_ *Runtime, err error) {
	if opts.Instances <= 0 {
		opts.Instances = 3
	}
	if opts.Redis == "" {
		opts.Redis = "auto"
	}
	exe := opts.Exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the lab binary: %w", err)
		}
	}
	rt := &Runtime{opts: opts, exe: exe, procs: map[string]*instance{}, base: map[string]bool{}, pools: map[servers.Variant]string{}}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	if rt.dir, err = os.MkdirTemp("", "statelab-lab-"); err != nil {
		return nil, err
	}
	if rt.redis, err = startRedis(ctx, opts.Redis); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*opts.Instances)
	for _, v := range servers.Variants {
		for i := 1; i <= opts.Instances; i++ {
			name := fmt.Sprintf("%s-%d", v, i)
			p := &instance{Process: child.Process{Name: name, Unexpected: rt.unexpected}, name: name, variant: v}
			rt.procs[name] = p
			rt.base[name] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- rt.startInstance(ctx, p, nil, true)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		if e != nil {
			return nil, e
		}
	}
	if err := rt.startLB(ctx); err != nil {
		return nil, err
	}
	return rt, nil
}

func startRedis(ctx context.Context, mode string) (redis, error) {
	switch mode {
	case "auto", "server":
		srv, err := redisserver.Start(ctx, redisserver.Options{})
		if err == nil {
			return &realRedis{srv: srv}, nil
		}
		if mode == "server" || !errors.Is(err, redisserver.ErrNotFound) {
			return nil, fmt.Errorf("redis: %w", err)
		}
		return startEmbedded()
	case "embedded":
		return startEmbedded()
	}
	return nil, fmt.Errorf("--redis %q: want auto, server or embedded", mode)
}

// Describe says what the lab runs on.
func (rt *Runtime) Describe() string {
	return fmt.Sprintf("local processes (%d instances per variant, balancer on %s, its status page on %s); Redis: %s",
		rt.opts.Instances, rt.pools[servers.Memory][len("http://"):], rt.admin, rt.redis.describe())
}

// Endpoints are the pools' and the admin API's URLs.
func (rt *Runtime) Endpoints() scenarios.Endpoints {
	return scenarios.Endpoints{Pools: rt.pools, Admin: rt.admin}
}

// Instances lists the base instances of a variant.
func (rt *Runtime) Instances(v servers.Variant) []string {
	var out []string
	for i := 1; i <= rt.opts.Instances; i++ {
		out = append(out, fmt.Sprintf("%s-%d", v, i))
	}
	return out
}

// Kill sends SIGKILL to an instance and waits for it to be gone.
func (rt *Runtime) Kill(_ context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	return p.End(syscall.SIGKILL)
}

// Stop sends SIGTERM to an instance and waits for it to exit.
func (rt *Runtime) Stop(_ context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	return p.End(syscall.SIGTERM)
}

// Start starts an instance again, on its port, with env on top of its base
// configuration.
func (rt *Runtime) Start(ctx context.Context, name string, env map[string]string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	if p.Running() {
		if err := p.End(syscall.SIGKILL); err != nil {
			return err
		}
	}
	return rt.startInstance(ctx, p, env, false)
}

// SetKeys writes the instance's keys file and sends it SIGHUP, then waits
// until its /healthz counts one more reload.
func (rt *Runtime) SetKeys(ctx context.Context, name string, keys map[string]string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	before, err := scenarios.Reloads(ctx, "http://"+p.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := writeKeysFile(rt.keysFile(name), keys); err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return scenarios.AwaitReload(ctx, name, "http://"+p.addr, before)
}

func (rt *Runtime) keysFile(name string) string { return filepath.Join(rt.dir, name+".keys") }

// unexpected reports a child that ended without the lab ending it: what
// the scenarios measure afterwards is not what they meant to.
func (rt *Runtime) unexpected(name, state string) {
	w := rt.opts.Logs
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "lab: warning: %s ended on its own (%s); run with --logs to see why\n", name, state)
}

// InstanceURL is the instance's own URL.
func (rt *Runtime) InstanceURL(name string) string {
	p, err := rt.proc(name)
	if err != nil {
		return ""
	}
	return "http://" + p.addr
}

// Add starts a new instance and returns its address.
func (rt *Runtime) Add(ctx context.Context, v servers.Variant, name string, env map[string]string) (string, error) {
	rt.mu.Lock()
	if _, dup := rt.procs[name]; dup {
		rt.mu.Unlock()
		return "", fmt.Errorf("instance %s already exists", name)
	}
	p := &instance{Process: child.Process{Name: name, Unexpected: rt.unexpected}, name: name, variant: v}
	rt.procs[name] = p
	rt.mu.Unlock()
	if err := rt.startInstance(ctx, p, env, true); err != nil {
		rt.mu.Lock()
		delete(rt.procs, name)
		rt.mu.Unlock()
		return "", err
	}
	return p.addr, nil
}

// Remove ends an added instance for good.
func (rt *Runtime) Remove(_ context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	err = p.End(syscall.SIGTERM)
	rt.mu.Lock()
	delete(rt.procs, name)
	rt.mu.Unlock()
	return err
}

// StopRedis stops Redis with SIGTERM (the embedded one: closes it).
func (rt *Runtime) StopRedis(context.Context) error { return rt.redis.stop() }

// StartRedis starts Redis again on its port.
func (rt *Runtime) StartRedis(ctx context.Context, persist bool) error {
	return rt.redis.start(ctx, persist)
}

// RedisStats counts Redis's keys and value bytes.
func (rt *Runtime) RedisStats(ctx context.Context) (int64, int64, error) {
	return stats(ctx, rt.redis.addr())
}

// Reset restarts every base instance with its base configuration, ends
// added ones, and leaves Redis running, without persistence, and empty.
func (rt *Runtime) Reset(ctx context.Context) error {
	rt.mu.Lock()
	var all []*instance
	for _, p := range rt.procs {
		all = append(all, p)
	}
	rt.mu.Unlock()
	if err := rt.redis.stop(); err != nil {
		return err
	}
	if err := rt.redis.start(ctx, false); err != nil {
		return err
	}
	if err := flush(ctx, rt.redis.addr()); err != nil {
		return fmt.Errorf("flush redis: %w", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(all))
	for _, p := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !rt.base[p.name] {
				errs <- rt.Remove(ctx, p.name)
				return
			}
			os.Remove(rt.keysFile(p.name))
			errs <- rt.Start(ctx, p.name, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Close ends every process the lab started, and Redis.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	all := []*child.Process{}
	for _, p := range rt.procs {
		all = append(all, &p.Process)
	}
	if rt.lb != nil {
		all = append(all, rt.lb)
	}
	rt.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() { defer wg.Done(); p.End(syscall.SIGKILL) }()
	}
	wg.Wait()
	if rt.dir != "" {
		os.RemoveAll(rt.dir)
	}
	if rt.redis != nil {
		return rt.redis.close()
	}
	return nil
}

func (rt *Runtime) proc(name string) (*instance, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p, ok := rt.procs[name]
	if !ok {
		var names []string
		for n := range rt.procs {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no instance %q (instances: %s)", name, strings.Join(names, ", "))
	}
	return p, nil
}

// startInstance starts p on its port (a new free one when fresh) and waits
// until it answers /healthz.
func (rt *Runtime) startInstance(ctx context.Context, p *instance, env map[string]string, fresh bool) error {
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
			"--redis", rt.redis.addr(),
			"--cookie-name", servers.CookieName + "_" + string(p.variant),
			"--keys-file", rt.keysFile(p.name),
			"--log-level", "warn",
		}
		err := p.Start(rt.exe, args, childEnv(env), rt.opts.Logs)
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
		for i, v := range servers.Variants {
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

// writeKeysFile writes keys as NAME=value lines; no keys removes the file.
func writeKeysFile(path string, keys map[string]string) error {
	if len(keys) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, scenarios.KeysFile(keys), 0o600); err != nil {
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
	variant servers.Variant
	addr    string
}
