// Package compose runs scenarios on the workshop stack: the containers that
// `docker compose up` started, found through their compose labels with the
// Docker Engine API. Killing an instance is `docker kill`; a scenario that
// needs an instance configured otherwise (fail-open, a denylist) or Redis
// with persistence gets the container recreated with that change, and Reset
// puts every container back as compose made it.
//
// It runs inside the stack (`docker compose run --rm lab run NAME`): it
// reaches the balancer, the instances and Redis by their service names.
package compose

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"statelab/lb"
	"statelab/scenarios"
	"statelab/servers"
	"statelab/servers/store/redisstore"
)

// Labels.
const (
	labelProject  = "com.docker.compose.project"
	labelService  = "com.docker.compose.service"
	labelOriginal = "statelab.original" // JSON of the Env and Cmd compose gave a container we recreated
	labelAdded    = "statelab.added"    // a container a scenario added
)

// Options configure the runtime. Zero fields take the defaults noted.
type Options struct {
	// Project is the compose project. Default: this container's own project,
	// else $COMPOSE_PROJECT_NAME, else "statelab".
	Project string
	// AdminToken is the balancer's admin token.
	AdminToken string
	// LB is the balancer's host name. Default "lb".
	LB string
	// KeysFile is where the instances read their keys file. Default
	// "/keys.env", as compose.yaml sets STATELAB_KEYS_FILE.
	KeysFile string
}

// Runtime is the compose stack. It implements scenarios.Runtime.
type Runtime struct {
	opts     Options
	cli      *client.Client
	engine   string
	network  string
	redisImg string

	mu       sync.Mutex
	ids      map[string]string // service name → container id
	added    map[string]string // added instance → container id
	keyed    map[string]bool   // instances given a keys file
	policies map[string]lb.PolicyRequest
}

var _ scenarios.Runtime = (*Runtime)(nil)

// Services are the stack's services the runtime needs.
var services = []string{"redis", "lb",
	"memory-1", "memory-2", "memory-3", "redis-1", "redis-2", "redis-3", "jwt-1", "jwt-2", "jwt-3"}

// ErrNotInStack is returned when the runtime does not run inside the stack.
var ErrNotInStack = errors.New("the Docker runtime runs inside the workshop stack: docker compose run --rm lab run NAME")

// Start connects to the Docker engine, finds the stack's containers, and
// checks that they are all there.
func Start(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.LB == "" {
		opts.LB = "lb"
	}
	if opts.KeysFile == "" {
		opts.KeysFile = "/keys.env"
	}
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx, client.PingOptions{})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("the Docker engine is not reachable (%v). In the workshop stack, the lab container mounts its socket: docker compose run --rm lab run NAME", err)
	}
	rt := &Runtime{opts: opts, cli: cli, engine: ping.APIVersion, ids: map[string]string{}, added: map[string]string{}, keyed: map[string]bool{}}
	if rt.opts.Project == "" {
		rt.opts.Project = rt.ownProject(ctx)
	}
	if err := rt.find(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	if _, err := net.DefaultResolver.LookupHost(ctx, opts.LB); err != nil {
		cli.Close()
		return nil, fmt.Errorf("%w (cannot resolve %q here)", ErrNotInStack, opts.LB)
	}
	if err := rt.cleanLeftovers(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	st, err := rt.lbClient().Status(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("the balancer's admin API: %w", err)
	}
	rt.policies = map[string]lb.PolicyRequest{}
	for _, p := range st.Pools {
		rt.policies[p.Name] = lb.PolicyRequest{Policy: p.Policy, Strict: p.Strict}
	}
	return rt, nil
}

func (rt *Runtime) lbClient() *lb.Client {
	return &lb.Client{Base: "http://" + rt.opts.LB + ":9000", Token: rt.opts.AdminToken}
}

// ownProject reads the compose project from this container's labels.
func (rt *Runtime) ownProject(ctx context.Context) string {
	if host, err := os.Hostname(); err == nil {
		if c, err := rt.cli.ContainerInspect(ctx, host, client.ContainerInspectOptions{}); err == nil && c.Container.Config != nil {
			if p := c.Container.Config.Labels[labelProject]; p != "" {
				return p
			}
		}
	}
	if p := os.Getenv("COMPOSE_PROJECT_NAME"); p != "" {
		return p
	}
	return "statelab"
}

// find maps every service of the stack to its container.
func (rt *Runtime) find(ctx context.Context) error {
	list, err := rt.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: client.Filters{}.Add("label", labelProject+"="+rt.opts.Project),
	})
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	for _, c := range list.Items {
		svc := c.Labels[labelService]
		if c.Labels[labelAdded] != "" {
			rt.added[svc] = c.ID
			continue
		}
		if slices.Contains(services, svc) {
			rt.ids[svc] = c.ID
		}
	}
	var missing []string
	for _, s := range services {
		if rt.ids[s] == "" {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the compose stack %q is not up (no container for %s): run docker compose up -d", rt.opts.Project, strings.Join(missing, ", "))
	}
	info, err := rt.inspect(ctx, rt.ids["memory-1"])
	if err != nil {
		return err
	}
	for name := range info.NetworkSettings.Networks {
		rt.network = name
	}
	if info, err := rt.inspect(ctx, rt.ids["redis"]); err == nil {
		rt.redisImg = info.Config.Image
	}
	return nil
}

// cleanLeftovers removes containers a run that did not finish had added.
func (rt *Runtime) cleanLeftovers(ctx context.Context) error {
	for name, id := range rt.added {
		if _, err := rt.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
			return fmt.Errorf("remove %s, left by an earlier run: %w", name, err)
		}
		delete(rt.added, name)
	}
	return nil
}

func (rt *Runtime) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	r, err := rt.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return r.Container, err
}

func (rt *Runtime) id(name string) (string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if id := rt.ids[name]; id != "" {
		return id, nil
	}
	if id := rt.added[name]; id != "" {
		return id, nil
	}
	return "", fmt.Errorf("no container for %q in the stack %s", name, rt.opts.Project)
}

// Describe says what the lab runs on.
func (rt *Runtime) Describe() string {
	return fmt.Sprintf("containers of the compose stack %q (Docker API %s); Redis: the %s container", rt.opts.Project, rt.engine, rt.redisImg)
}

// Endpoints are the balancer's URLs on the stack's network.
func (rt *Runtime) Endpoints() scenarios.Endpoints {
	return scenarios.Endpoints{
		Pools: map[servers.Variant]string{
			servers.Memory: "http://" + rt.opts.LB + ":8081",
			servers.Redis:  "http://" + rt.opts.LB + ":8082",
			servers.JWT:    "http://" + rt.opts.LB + ":8083",
		},
		Admin:      "http://" + rt.opts.LB + ":9000",
		AdminToken: rt.opts.AdminToken,
	}
}

// Instances lists a variant's services.
func (rt *Runtime) Instances(v servers.Variant) []string {
	return []string{string(v) + "-1", string(v) + "-2", string(v) + "-3"}
}

// InstanceURL is an instance's URL on the stack's network.
func (rt *Runtime) InstanceURL(name string) string { return "http://" + name + ":8080" }

// Kill sends SIGKILL, as `docker compose kill` does, and waits until the
// container is no longer running.
func (rt *Runtime) Kill(ctx context.Context, name string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	if _, err := rt.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	return rt.waitStopped(ctx, name, id)
}

// Stop stops a container with SIGTERM, as `docker compose stop` does.
func (rt *Runtime) Stop(ctx context.Context, name string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	timeout := 10
	if _, err := rt.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	return rt.waitStopped(ctx, name, id)
}

func (rt *Runtime) waitStopped(ctx context.Context, name, id string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := rt.inspect(ctx, id)
		if err != nil {
			return err
		}
		if !info.State.Running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still running 15 s after it was told to end", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Start starts an instance's container again. With env, or when an earlier
// start changed it, the container is recreated with compose's environment
// plus env; without, it is the same container started again.
func (rt *Runtime) Start(ctx context.Context, name string, env map[string]string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	info, err := rt.inspect(ctx, id)
	if err != nil {
		return err
	}
	orig, _ := original(info)
	want := withEnv(orig.Env, env)
	if !slices.Equal(want, info.Config.Env) {
		if id, err = rt.recreate(ctx, name, info, func(c *container.Config) { c.Env = want }); err != nil {
			return err
		}
	} else if !info.State.Running {
		if _, err := rt.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	return waitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz")
}

// Add starts a new instance of a variant on the stack's network, configured
// as the variant's first instance, and returns its address.
func (rt *Runtime) Add(ctx context.Context, v servers.Variant, name string, env map[string]string) (string, error) {
	base, err := rt.inspect(ctx, rt.ids[string(v)+"-1"])
	if err != nil {
		return "", err
	}
	orig, _ := original(base)
	cfg := *base.Config
	cfg.Hostname = ""
	cfg.Env = withEnv(orig.Env, map[string]string{"STATELAB_NAME": name})
	cfg.Env = withEnv(cfg.Env, env)
	cfg.Labels = map[string]string{labelProject: rt.opts.Project, labelService: name, labelAdded: "true"}
	created, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       rt.opts.Project + "-" + name,
		Config:     &cfg,
		HostConfig: &container.HostConfig{},
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			rt.network: {Aliases: []string{name}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	rt.mu.Lock()
	rt.added[name] = created.ID
	rt.mu.Unlock()
	if _, err := rt.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	if err := waitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz"); err != nil {
		return "", err
	}
	return name + ":8080", nil
}

// Remove removes an added instance's container.
func (rt *Runtime) Remove(ctx context.Context, name string) error {
	rt.mu.Lock()
	id, ok := rt.added[name]
	delete(rt.added, name)
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s was not added by the lab", name)
	}
	if _, err := rt.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// SetKeys copies the keys file into the container and sends it SIGHUP.
func (rt *Runtime) SetKeys(ctx context.Context, name string, keys map[string]string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	before, err := scenarios.Reloads(ctx, rt.InstanceURL(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := rt.writeKeys(ctx, id, keys); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	rt.mu.Lock()
	rt.keyed[name] = true
	rt.mu.Unlock()
	if _, err := rt.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "HUP"}); err != nil {
		return fmt.Errorf("signal %s: %w", name, err)
	}
	return scenarios.AwaitReload(ctx, name, rt.InstanceURL(name), before)
}

// writeKeys puts the keys file in the container, as `docker cp` would.
func (rt *Runtime) writeKeys(ctx context.Context, id string, keys map[string]string) error {
	data := scenarios.KeysFile(keys)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir, file := "/", strings.TrimPrefix(rt.opts.KeysFile, "/")
	if i := strings.LastIndexByte(rt.opts.KeysFile, '/'); i > 0 {
		dir, file = rt.opts.KeysFile[:i], rt.opts.KeysFile[i+1:]
	}
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	_, err := rt.cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: dir, Content: &buf})
	return err
}

// StopRedis stops the Redis container (SIGTERM).
func (rt *Runtime) StopRedis(ctx context.Context) error { return rt.Stop(ctx, "redis") }

// StartRedis starts Redis again; when persistence differs from what the
// container runs with, the container is recreated with --appendonly set
// accordingly, on the same data volume.
func (rt *Runtime) StartRedis(ctx context.Context, persist bool) error {
	id := rt.ids["redis"]
	info, err := rt.inspect(ctx, id)
	if err != nil {
		return err
	}
	orig, _ := original(info)
	want := withFlag(orig.Cmd, "--appendonly", map[bool]string{true: "yes", false: "no"}[persist])
	if !slices.Equal(want, info.Config.Cmd) {
		if _, err := rt.recreate(ctx, "redis", info, func(c *container.Config) { c.Cmd = want }); err != nil {
			return err
		}
	} else if !info.State.Running {
		if _, err := rt.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("start redis: %w", err)
		}
	}
	return waitRedis(ctx)
}

// RedisStats counts Redis's keys and value bytes.
func (rt *Runtime) RedisStats(ctx context.Context) (keys, bytes int64, err error) {
	rdb := redisstore.Client("redis:6379", 2*time.Second)
	defer rdb.Close()
	return redisstore.Sizes(ctx, rdb, "*")
}

// Reset puts the stack back as compose made it: added containers removed,
// recreated ones recreated as compose configured them, keys files emptied,
// the memory instances restarted (empty memory), every instance running,
// Redis running without persistence and empty. Redis and jwt instances that
// nothing changed keep running: they hold nothing to forget.
func (rt *Runtime) Reset(ctx context.Context) error {
	for name := range rt.addedNames() {
		if err := rt.Remove(ctx, name); err != nil {
			return err
		}
	}
	if err := rt.resetRedis(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for _, v := range servers.Variants {
		for _, name := range rt.Instances(v) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- rt.resetInstance(ctx, name)
			}()
		}
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

func (rt *Runtime) addedNames() map[string]bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := map[string]bool{}
	for n := range rt.added {
		out[n] = true
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
		_, err := rt.recreate(ctx, name, info, func(c *container.Config) { c.Env, c.Cmd = orig.Env, orig.Cmd })
		if err != nil {
			return err
		}
		return waitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz")
	}
	if keyed {
		if err := rt.writeKeys(ctx, id, nil); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if info.State.Running && !keyed && !strings.HasPrefix(name, string(servers.Memory)) {
		return nil
	}
	timeout := 10
	if _, err := rt.cli.ContainerRestart(ctx, id, client.ContainerRestartOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	return waitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz")
}

func (rt *Runtime) resetRedis(ctx context.Context) error {
	info, err := rt.inspect(ctx, rt.ids["redis"])
	if err != nil {
		return err
	}
	if orig, changed := original(info); changed {
		if info.State.Running {
			// Empty it while the append-only file still records it, so that
			// a later start with persistence does not bring old data back.
			if err := flush(ctx); err != nil {
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
	if err := waitRedis(ctx); err != nil {
		return err
	}
	return flush(ctx)
}

// Close undoes every fault: the stack is reset and the balancer's policies
// put back as they were when the run began.
func (rt *Runtime) Close() error {
	defer rt.cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := rt.Reset(ctx)
	lbc := rt.lbClient()
	if st, serr := lbc.Status(ctx); serr == nil {
		for _, p := range st.Pools {
			for _, b := range p.Backends {
				if !slices.Contains(services, b.Name) {
					_ = lbc.RemoveBackend(ctx, p.Name, b.Name)
				} else if b.State == "draining" || b.State == "disabled" {
					_ = lbc.Backend(ctx, p.Name, b.Name, "enable")
				}
			}
			if want, ok := rt.policies[p.Name]; ok && (want.Policy != p.Policy || want.Strict != p.Strict) {
				_ = lbc.SetPolicy(ctx, p.Name, want.Policy, want.Strict)
			}
		}
	}
	return err
}

// spec is what a recreate may change, and what Reset restores.
type spec struct {
	Env []string `json:"env"`
	Cmd []string `json:"cmd"`
}

// original returns the Env and Cmd compose gave the container, and whether
// the lab has changed them since.
func original(info container.InspectResponse) (spec, bool) {
	if raw := info.Config.Labels[labelOriginal]; raw != "" {
		var s spec
		if json.Unmarshal([]byte(raw), &s) == nil {
			return s, true
		}
	}
	return spec{Env: info.Config.Env, Cmd: info.Config.Cmd}, false
}

// recreate replaces a container by one with the same name, labels, host
// settings, networks and aliases, and the config change applies. The
// original Env and Cmd are kept in a label, until Reset restores them.
func (rt *Runtime) recreate(ctx context.Context, name string, info container.InspectResponse, change func(*container.Config)) (string, error) {
	orig, changed := original(info)
	cfg := *info.Config
	cfg.Labels = maps(cfg.Labels)
	cfg.Hostname = "" // a new container, a new host name
	change(&cfg)
	if slices.Equal(cfg.Env, orig.Env) && slices.Equal(cfg.Cmd, orig.Cmd) {
		delete(cfg.Labels, labelOriginal)
	} else if !changed {
		raw, _ := json.Marshal(orig)
		cfg.Labels[labelOriginal] = string(raw)
	}
	endpoints := map[string]*network.EndpointSettings{}
	for net, ep := range info.NetworkSettings.Networks {
		var aliases []string
		for _, a := range ep.Aliases {
			if !strings.HasPrefix(info.ID, a) { // not the old container's short id
				aliases = append(aliases, a)
			}
		}
		endpoints[net] = &network.EndpointSettings{Aliases: aliases}
	}
	if _, err := rt.cli.ContainerRemove(ctx, info.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
		return "", fmt.Errorf("recreate %s: remove: %w", name, err)
	}
	created, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:             strings.TrimPrefix(info.Name, "/"),
		Config:           &cfg,
		HostConfig:       info.HostConfig,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: endpoints},
	})
	if err != nil {
		return "", fmt.Errorf("recreate %s: create: %w", name, err)
	}
	rt.mu.Lock()
	rt.ids[name] = created.ID
	rt.mu.Unlock()
	if _, err := rt.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("recreate %s: start: %w", name, err)
	}
	return created.ID, nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// withEnv returns env with the settings given replaced or added.
func withEnv(env []string, set map[string]string) []string {
	out := slices.Clone(env)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := slices.IndexFunc(out, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		if i >= 0 {
			out[i] = k + "=" + set[k]
		} else {
			out = append(out, k+"="+set[k])
		}
	}
	return out
}

// withFlag returns args with flag set to value.
func withFlag(args []string, flag, value string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == flag {
			out[i+1] = value
			return out
		}
	}
	return append(out, flag, value)
}

func waitHTTP(ctx context.Context, name, url string) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer %s after 30 s", name, url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func waitRedis(ctx context.Context) error {
	rdb := redisstore.Client("redis:6379", time.Second)
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := rdb.Ping(ctx).Err(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("redis does not answer PING after 30 s")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func flush(ctx context.Context) error {
	rdb := redisstore.Client("redis:6379", 2*time.Second)
	defer rdb.Close()
	return rdb.FlushAll(ctx).Err()
}
