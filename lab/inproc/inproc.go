// Package inproc runs a whole lab inside one process: an embedded Redis,
// three instances of each variant (servers.Server) and the balancer
// (lb.Balancer, with its admin API), each on a free loopback port. Killing
// an instance closes its listener and every connection at once and drops
// what it held, as SIGKILL does to a process; stopping it shuts it down
// gracefully. No child process is started, so the engine and every
// scenario's expectations run in seconds under `go test`.
package inproc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"statelab/lab/fleet"
	"statelab/lb/api"

	"statelab"
	"statelab/internal/labredis"
	"statelab/internal/parallel"
	"statelab/lab"
	"statelab/lb"
	"statelab/servers"
)

// Options configure the lab. Zero fields take the defaults noted.
type Options struct {
	// Instances per variant. Default 3.
	Instances int
	// HealthInterval of the balancer. Default 50ms: nothing here is slow.
	HealthInterval time.Duration
	// Logger receives the instances' and the balancer's logs. Default:
	// discard.
	Logger *slog.Logger
	// RedisTimeout is how long an instance waits for Redis, until a
	// runner's calibration tunes it. Default 1s: what calibration gives a
	// quiet machine, so that calibrating restarts nothing there.
	RedisTimeout time.Duration
}

// Runtime is a lab inside this process.
type Runtime struct {
	opts              Options
	dir               string // the instances' keys files
	*labredis.Fronted        // Redis, and the delay proxy the instances reach it through
	bl                *lb.Balancer
	blDone            chan struct{}
	admin             *http.Server
	adminURL          string
	pools             map[statelab.Variant]string

	insts *fleet.Table[*instance]
	mu    sync.Mutex   // guards tuned and the instances' fields
	tuned lab.Settings // every instance's base settings (Tune)
}

var _ lab.Complete = (*Runtime)(nil)

// instance is one server instance; srv is nil while it is not running.
type instance struct {
	name    string
	variant statelab.Variant
	addr    string // kept across restarts; guarded by Runtime.mu
	srv     *servers.Server
	done    chan struct{}
	// given are the settings its last start was given; settings what it
	// runs with (given, over the lab's base); running whether it runs.
	// Guarded by Runtime.mu.
	given, settings lab.Settings
	running         bool
}

// Start starts the lab and waits until the balancer sees every instance up.
// On error, what was started is ended.
func Start(ctx context.Context, opts Options) (_ *Runtime, err error) {
	if opts.Instances <= 0 {
		opts.Instances = 3
	}
	if opts.RedisTimeout <= 0 {
		opts.RedisTimeout = time.Second
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 50 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{opts: opts, insts: fleet.New[*instance](), pools: map[statelab.Variant]string{}}
	defer func() {
		if err != nil {
			rt.Close()
		}
	}()
	if rt.dir, err = os.MkdirTemp("", "statelab-inproc-"); err != nil {
		return nil, err
	}
	if rt.Fronted, err = labredis.StartFronted(ctx, labredis.Embedded); err != nil {
		return nil, err
	}
	var specs []lb.PoolSpec
	for _, v := range statelab.Variants {
		spec := lb.PoolSpec{Name: string(v), Listen: "127.0.0.1:0"}
		for _, name := range rt.Instances(v) {
			in := &instance{name: name, variant: v, addr: "127.0.0.1:0"}
			if err := rt.insts.Put(name, in, true); err != nil {
				return nil, err
			}
			if err := rt.start(in, lab.Settings{}); err != nil {
				return nil, err
			}
			spec.Backends = append(spec.Backends, lb.BackendSpec{Name: name, Addr: in.addr})
		}
		specs = append(specs, spec)
	}
	if err := rt.startLB(specs); err != nil {
		return nil, err
	}
	client := &api.Client{Base: rt.adminURL}
	if err := client.WaitAllUp(ctx, time.Time{}, 10*time.Second); err != nil {
		return nil, err
	}
	return rt, nil
}

func (rt *Runtime) startLB(specs []lb.PoolSpec) error {
	bl, err := lb.New(lb.Config{HealthInterval: rt.opts.HealthInterval, CookiePerPool: true, Logger: rt.opts.Logger}, specs...)
	if err != nil {
		return err
	}
	if err := bl.Open(); err != nil {
		return err
	}
	rt.bl, rt.blDone = bl, make(chan struct{})
	go func() { _ = bl.Serve(); close(rt.blDone) }()
	for _, p := range bl.Pools() {
		rt.pools[statelab.Variant(p.Name)] = "http://" + p.Addr()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	handler, err := bl.Admin(lb.AdminOptions{})
	if err != nil {
		ln.Close()
		return err
	}
	rt.admin = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	rt.adminURL = "http://" + ln.Addr().String()
	go func() { _ = rt.admin.Serve(ln) }()
	return nil
}

// start starts an instance on its address with s on top of its base
// configuration.
func (rt *Runtime) start(in *instance, s lab.Settings) error {
	rt.mu.Lock()
	eff := rt.effective(s)
	in.given, in.settings = s, eff
	addr := in.addr
	rt.mu.Unlock()
	srv, err := servers.New(servers.Config{
		Variant:      in.variant,
		Name:         in.name,
		Addr:         addr,
		RedisAddr:    rt.InstancesAddr(),
		RedisTimeout: eff.RedisTimeout,
		CookieName:   statelab.SessionCookie + "_" + string(in.variant),
		KeysFile:     rt.keysFile(in.name),
		FailOpen:     eff.FailOpen,
		Denylist:     eff.Denylist,
		TokenTTL:     eff.TokenTTL,
		SessionTTL:   eff.SessionTTL,
		AnswerDelay:  eff.AnswerDelay,
		Sentinels:    strings.FieldsFunc(eff.Sentinels, func(r rune) bool { return r == ',' }),
		RedisWait:    eff.RedisWait,
		Logger:       rt.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", in.name, err)
	}
	if err := srv.Open(); err != nil {
		srv.Close()
		return err
	}
	rt.mu.Lock()
	in.addr = srv.Addr().String() // the port :0 picked; the same one on every restart
	in.running = true
	rt.mu.Unlock()
	in.srv, in.done = srv, make(chan struct{})
	done := in.done
	go func() { _ = srv.Serve(); close(done) }()
	return nil
}

// effective is what an instance given s runs with. The caller holds mu.
func (rt *Runtime) effective(s lab.Settings) lab.Settings {
	return s.Over(rt.tuned).Over(lab.Settings{RedisTimeout: rt.opts.RedisTimeout})
}

// Tune makes s every instance's base settings, and starts anew at once
// those that run otherwise.
func (rt *Runtime) Tune(ctx context.Context, s lab.Settings) error {
	rt.mu.Lock()
	rt.tuned = s
	var stale []*instance
	for _, in := range rt.insts.All() {
		if in.running && in.settings != rt.effective(in.given) {
			stale = append(stale, in)
		}
	}
	rt.mu.Unlock()
	return parallel.Do(stale, func(in *instance) error {
		rt.mu.Lock()
		given := in.given
		rt.mu.Unlock()
		return rt.Start(ctx, in.name, given)
	})
}

// end ends a running instance: at once (kill) or gracefully.
func (rt *Runtime) end(ctx context.Context, in *instance, kill bool) error {
	if in.srv == nil {
		return nil
	}
	rt.mu.Lock()
	in.running = false
	rt.mu.Unlock()
	var err error
	if kill {
		err = in.srv.Kill()
	} else {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = in.srv.Shutdown(sctx)
		cancel()
	}
	<-in.done
	in.srv = nil
	return err
}

func (rt *Runtime) inst(name string) (*instance, error) { return rt.insts.Get(name) }

func (rt *Runtime) keysFile(name string) string { return filepath.Join(rt.dir, name+".keys") }

// Describe says what the lab runs on.
func (rt *Runtime) Describe() string {
	return fmt.Sprintf("one process (%d instances per variant and the balancer on loopback ports); Redis: %s", rt.opts.Instances, rt.DescribeRedis())
}

// Endpoints are the pools' and the admin API's URLs.
func (rt *Runtime) Endpoints() lab.Endpoints {
	return lab.Endpoints{About: rt.Describe(), Pools: rt.pools, Admin: rt.adminURL, Redis: rt.DirectAddr()}
}

// Instances lists the base instances of a variant.
func (rt *Runtime) Instances(v statelab.Variant) []string { return fleet.Names(v, rt.opts.Instances) }

// Kill ends an instance at once.
func (rt *Runtime) Kill(ctx context.Context, name string) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	return rt.end(ctx, in, true)
}

// Stop ends an instance gracefully.
func (rt *Runtime) Stop(ctx context.Context, name string) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	return rt.end(ctx, in, false)
}

// Start starts an instance again, on its address, as a new server that
// remembers nothing.
func (rt *Runtime) Start(ctx context.Context, name string, s lab.Settings) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	if err := rt.end(ctx, in, true); err != nil {
		return err
	}
	return rt.start(in, s)
}

// InstanceURL is the instance's own URL.
func (rt *Runtime) InstanceURL(name string) string {
	in, err := rt.inst(name)
	if err != nil {
		return ""
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return "http://" + in.addr
}

// Add starts a new instance and returns its address.
func (rt *Runtime) Add(_ context.Context, v statelab.Variant, name string, s lab.Settings) (string, error) {
	in := &instance{name: name, variant: v, addr: "127.0.0.1:0"}
	if err := rt.insts.Put(name, in, false); err != nil {
		return "", err
	}
	if err := rt.start(in, s); err != nil {
		rt.insts.Delete(name)
		return "", err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return in.addr, nil
}

// Remove ends an added instance for good.
func (rt *Runtime) Remove(ctx context.Context, name string) error {
	in, err := rt.inst(name)
	if err != nil {
		return err
	}
	err = rt.end(ctx, in, false)
	rt.insts.Delete(name)
	return err
}

// Reset starts every base instance anew with its base configuration, ends
// added ones, and leaves Redis running, without persistence, and empty.
func (rt *Runtime) Reset(ctx context.Context) error {
	if err := rt.ResetRedis(ctx); err != nil {
		return err
	}
	return rt.insts.Reset(func(name string, _ *instance) error {
		os.Remove(rt.keysFile(name))
		return rt.Start(ctx, name, lab.Settings{})
	}, func(name string) error { return rt.Remove(ctx, name) })
}

// Close ends the balancer, every instance and Redis.
func (rt *Runtime) Close() error {
	all, ok := rt.insts.Close()
	if !ok {
		return nil
	}
	if rt.admin != nil {
		rt.admin.Close() // event streams never end by themselves
	}
	if rt.bl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = rt.bl.Shutdown(ctx)
		cancel()
		<-rt.blDone
	}
	_ = parallel.Do(all, func(in *instance) error { return rt.end(context.Background(), in, true) })
	if rt.Fronted != nil {
		rt.CloseRedis()
	}
	if rt.dir != "" {
		os.RemoveAll(rt.dir)
	}
	return nil
}
