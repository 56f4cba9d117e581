// Package local runs the lab as local processes of the lab binary itself:
// three `lab server` instances per variant, a `lab lb` with one pool per
// variant, and Redis (a real redis-server when one is on PATH, else an
// embedded one), all on free loopback ports. Killing an instance is a real
// SIGKILL of its process; every process it starts ends when the lab ends.
package local

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"statelab"
	"statelab/internal/child"
	"statelab/internal/failover"
	"statelab/internal/labredis"
	"statelab/internal/parallel"
	"statelab/internal/ports"
	"statelab/lab"
	"statelab/lab/fleet"
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
	// Users is the virtual users per variant the lab is to serve. They all
	// reach the instances from one address, the runner's, so each instance
	// lets twice that many logins through at once (--login-burst), instead
	// of its default of 1000 for one real client. Default: that default.
	Users int
	// RedisTimeout, when set, is how long an instance waits for Redis
	// (lab server --redis-timeout), unless Tune says otherwise. Default:
	// the server's, 250ms.
	RedisTimeout time.Duration
	// Pools, when set, gives the address each variant's pool listens on
	// (lab up: the compose stack's ports), and Admin the admin API's;
	// unset ones take free loopback ports.
	Pools map[statelab.Variant]string
	Admin string
	// Policy is every pool's policy at start (lb --policy). Default: the
	// balancer's, round-robin.
	Policy string
}

// Runtime is a lab of local processes.
type Runtime struct {
	opts              Options
	exe               string
	dir               string // the instances' keys files
	*labredis.Fronted        // Redis, and the delay proxy the instances reach it through
	lb                *child.Process
	admin             string
	adminToken        string
	pools             map[statelab.Variant]string
	procs             *fleet.Table[*instance]
	mu                sync.Mutex
	tuned             lab.Settings    // every instance's base settings (Tune)
	replicas          *failover.Set   // the replicated Redis (Replicate), if one runs
	ports             ports.Allocator // never the same port twice
}

var (
	_ lab.Complete   = (*Runtime)(nil)
	_ lab.Replicator = (*Runtime)(nil)
)

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
	// The balancer's admin API wants a token, even on loopback: another
	// user of this machine must not disable backends under a run. The
	// lab's own clients take it from Endpoints; the status page is
	// printed with it in its fragment (StatusURL).
	rt := &Runtime{opts: opts, exe: exe, procs: fleet.New[*instance](), pools: map[statelab.Variant]string{}, adminToken: rand.Text()}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	if rt.dir, err = os.MkdirTemp("", "statelab-lab-"); err != nil {
		return nil, err
	}
	if rt.Fronted, err = labredis.StartFronted(ctx, opts.Redis); err != nil {
		return nil, err
	}
	var all []*instance
	for _, v := range statelab.Variants {
		for _, name := range fleet.Names(v, opts.Instances) {
			p := &instance{Process: child.Process{Name: name, Unexpected: rt.unexpected}, name: name, variant: v}
			if err := rt.procs.Put(name, p, true); err != nil {
				return nil, err
			}
			all = append(all, p)
		}
	}
	if err := parallel.Do(all, func(p *instance) error { return rt.startInstance(ctx, p, lab.Settings{}, true) }); err != nil {
		return nil, err
	}
	if err := rt.startLB(ctx); err != nil {
		return nil, err
	}
	return rt, nil
}

// Describe says what the lab runs on. It names no address: they end with
// the run (lab run --hold and lab up print them while they live).
func (rt *Runtime) Describe() string {
	return fmt.Sprintf("local processes (%d instances per variant behind a balancer on loopback ports); Redis: %s",
		rt.opts.Instances, rt.DescribeRedis())
}

// Endpoints are the pools' and the admin API's URLs.
func (rt *Runtime) Endpoints() lab.Endpoints {
	return lab.Endpoints{About: rt.Describe(), Pools: rt.pools, Admin: rt.admin, AdminToken: rt.adminToken, Redis: rt.DirectAddr()}
}

// Instances lists the base instances of a variant.
func (rt *Runtime) Instances(v statelab.Variant) []string { return fleet.Names(v, rt.opts.Instances) }

// Kill sends SIGKILL to an instance and waits for it to be gone.
func (rt *Runtime) Kill(_ context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	return p.End(syscall.SIGKILL)
}

// CrashAfterNextWrite sends an instance SIGUSR1, which arms its crash, and
// waits until it says so. Its end, when it comes, is expected.
func (rt *Runtime) CrashAfterNextWrite(ctx context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	p.ExpectEnd()
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return lab.AwaitArmed(ctx, name, "http://"+p.addr)
}

// Stop sends SIGTERM to an instance and waits for it to exit.
func (rt *Runtime) Stop(_ context.Context, name string) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	return p.End(syscall.SIGTERM)
}

// Start starts an instance again, on its port, with s on top of its base
// configuration.
func (rt *Runtime) Start(ctx context.Context, name string, s lab.Settings) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	if p.Running() {
		if err := p.End(syscall.SIGKILL); err != nil {
			return err
		}
	}
	return rt.startInstance(ctx, p, s, false)
}

// Tune makes s every instance's base settings, and restarts at once those
// that run otherwise.
func (rt *Runtime) Tune(ctx context.Context, s lab.Settings) error {
	rt.mu.Lock()
	rt.tuned = s
	var stale []*instance
	for _, p := range rt.procs.All() {
		if p.Running() && p.settings != p.given.Over(s).Over(lab.Settings{RedisTimeout: rt.opts.RedisTimeout}) {
			stale = append(stale, p)
		}
	}
	rt.mu.Unlock()
	return parallel.Do(stale, func(p *instance) error { return rt.Start(ctx, p.name, p.given) })
}

// SetKeys writes the instance's keys file and sends it SIGHUP, then waits
// until its /healthz counts one more reload.
func (rt *Runtime) SetKeys(ctx context.Context, name string, keys statelab.Keys) error {
	p, err := rt.proc(name)
	if err != nil {
		return err
	}
	h, err := lab.Health(ctx, "http://"+p.addr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := writeKeysFile(rt.keysFile(name), keys); err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return lab.AwaitReload(ctx, name, "http://"+p.addr, h.Reloads)
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
func (rt *Runtime) Add(ctx context.Context, v statelab.Variant, name string, s lab.Settings) (string, error) {
	p := &instance{Process: child.Process{Name: name, Unexpected: rt.unexpected}, name: name, variant: v}
	if err := rt.procs.Put(name, p, false); err != nil {
		return "", err
	}
	if err := rt.startInstance(ctx, p, s, true); err != nil {
		rt.procs.Delete(name)
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
	rt.procs.Delete(name)
	return err
}

// Reset restarts every base instance with its base configuration, ends
// added ones, and leaves Redis running, without persistence, and empty.
func (rt *Runtime) Reset(ctx context.Context) error {
	if err := rt.closeReplicas(); err != nil {
		return err
	}
	if err := rt.ResetRedis(ctx); err != nil {
		return err
	}
	return rt.procs.Reset(func(name string, _ *instance) error {
		os.Remove(rt.keysFile(name))
		return rt.Start(ctx, name, lab.Settings{})
	}, func(name string) error { return rt.Remove(ctx, name) })
}

// Close ends every process the lab started, and Redis.
func (rt *Runtime) Close() error {
	procs, ok := rt.procs.Close()
	if !ok {
		return nil
	}
	all := []*child.Process{}
	for _, p := range procs {
		all = append(all, &p.Process)
	}
	if rt.lb != nil {
		all = append(all, rt.lb)
	}
	_ = parallel.Do(all, func(p *child.Process) error { return p.End(syscall.SIGKILL) })
	_ = rt.closeReplicas()
	if rt.dir != "" {
		os.RemoveAll(rt.dir)
	}
	if rt.Fronted != nil {
		return rt.CloseRedis()
	}
	return nil
}

func (rt *Runtime) proc(name string) (*instance, error) { return rt.procs.Get(name) }
