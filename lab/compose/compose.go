// Package compose runs scenarios on the workshop stack: the containers that
// `docker compose up` started, found through their compose labels with the
// Docker Engine API. Killing an instance is `docker kill`; a scenario that
// needs an instance configured otherwise (fail-open, a denylist) or Redis
// with persistence gets the container recreated with that change, and Reset
// puts every container back as compose made it.
//
// It runs inside the stack (`docker compose run --rm lab run NAME`) and
// reads the lab's layout from the balancer's /api/pools: the pools and
// their ports, and each pool's backends, whose names are the instances'
// compose services.
package compose

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab/lb/api"

	"github.com/moby/moby/client"

	"statelab"
	"statelab/lab"
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
	// Admin is the balancer's admin API. Default "http://lb:9000".
	Admin string
	// AdminToken is the balancer's admin token.
	AdminToken string
	// Redis is the Redis service's host:port. Default "redis:6379".
	Redis string
	// Delay is the control API of the delay proxy between the instances
	// and Redis. Default "http://redis-delay:6390".
	Delay string
	// KeysFile is where the instances read their keys file. Default
	// "/keys.env", as compose.yaml sets STATELAB_KEYS_FILE.
	KeysFile string
}

// Runtime is the compose stack.
type Runtime struct {
	opts     Options
	cli      *client.Client
	lb       *api.Client
	engine   string
	network  string
	redisImg string

	pools     map[statelab.Variant]string   // pool URLs, from the balancer's listen ports
	instances map[statelab.Variant][]string // base instances, from the pools' backends
	addrs     map[string]string             // instance → host:port the balancer dials
	policies  map[string]api.Want           // the pools as the run found them

	mu    sync.Mutex
	ids   map[string]string // service name → container id
	added map[string]string // added instance → container id
	keyed map[string]bool   // instances given a keys file
	tuned lab.Settings      // every instance's base settings, over compose's (Tune)
}

var _ lab.Complete = (*Runtime)(nil)

// ErrNotInStack is returned when the runtime does not run inside the stack.
var ErrNotInStack = errors.New("the Docker runtime runs inside the workshop stack: docker compose run --rm lab run NAME")

// Start connects to the Docker engine and the balancer, reads the layout,
// finds the stack's containers, and removes what an unfinished run left.
func Start(ctx context.Context, opts Options) (_ *Runtime, err error) {
	if opts.Admin == "" {
		opts.Admin = "http://lb:9000"
	}
	if opts.Redis == "" {
		opts.Redis = "redis:6379"
	}
	if opts.Delay == "" {
		opts.Delay = "http://redis-delay:6390"
	}
	if opts.KeysFile == "" {
		opts.KeysFile = "/keys.env"
	}
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	defer func() {
		if err != nil {
			cli.Close()
		}
	}()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx, client.PingOptions{})
	if err != nil {
		return nil, fmt.Errorf("the Docker engine is not reachable (%v). In the workshop stack, the lab container mounts its socket: docker compose run --rm lab run NAME", err)
	}
	rt := &Runtime{opts: opts, cli: cli, engine: ping.APIVersion, lb: &api.Client{Base: opts.Admin, Token: opts.AdminToken},
		ids: map[string]string{}, added: map[string]string{}, keyed: map[string]bool{}}
	if rt.opts.Project == "" {
		rt.opts.Project = rt.ownProject(ctx)
	}
	if host := hostOf(opts.Admin); host != "" {
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			return nil, fmt.Errorf("%w (cannot resolve %q here)", ErrNotInStack, host)
		}
	}
	if err := rt.find(ctx); err != nil {
		return nil, err
	}
	if err := rt.layout(ctx); err != nil {
		return nil, err
	}
	if err := rt.cleanLeftovers(ctx); err != nil {
		return nil, err
	}
	return rt, nil
}

// hostOf returns the host of a URL like http://lb:9000.
func hostOf(u string) string {
	rest := u
	if _, after, ok := strings.Cut(u, "://"); ok {
		rest = after
	}
	rest, _, _ = strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return rest
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

// find maps every service of the project to its container.
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
		rt.ids[svc] = c.ID
	}
	if rt.ids["redis"] == "" {
		return fmt.Errorf("the compose stack %q is not up (no redis container): run docker compose up -d", rt.opts.Project)
	}
	if info, err := rt.inspect(ctx, rt.ids["redis"]); err == nil {
		rt.redisImg = info.Config.Image
		for name := range info.NetworkSettings.Networks {
			rt.network = name
		}
	}
	return nil
}

// layout reads the pools and their backends from the balancer: a pool per
// variant, whose base instances are the backends that are compose services.
func (rt *Runtime) layout(ctx context.Context) error {
	st, err := rt.lb.Status(ctx)
	if err != nil {
		return fmt.Errorf("the balancer's admin API: %w", err)
	}
	rt.pools = map[statelab.Variant]string{}
	rt.instances = map[statelab.Variant][]string{}
	rt.addrs = map[string]string{}
	rt.policies = map[string]api.Want{}
	lbHost := hostOf(rt.opts.Admin)
	var missing []string
	for _, p := range st.Pools {
		v, err := statelab.ParseVariant(p.Name)
		if err != nil {
			continue // a pool the lab does not drive
		}
		_, port, err := net.SplitHostPort(p.Listen)
		if err != nil {
			return fmt.Errorf("pool %s listens on %q: %w", p.Name, p.Listen, err)
		}
		rt.pools[v] = "http://" + net.JoinHostPort(lbHost, port)
		want := api.Want{Policy: p.Policy, Strict: p.Strict}
		for _, b := range p.Backends {
			if _, isAdded := rt.added[b.Name]; isAdded {
				continue
			}
			if rt.ids[b.Name] == "" {
				missing = append(missing, b.Name)
				continue
			}
			rt.instances[v] = append(rt.instances[v], b.Name)
			rt.addrs[b.Name] = b.Addr
			want.Backends = append(want.Backends, b.Name)
		}
		rt.policies[p.Name] = want
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("the compose stack %q is not up (no container for %s): run docker compose up -d", rt.opts.Project, strings.Join(missing, ", "))
	}
	for _, v := range statelab.Variants {
		if len(rt.instances[v]) == 0 {
			return fmt.Errorf("the balancer has no %s pool with instances of the stack %q", v, rt.opts.Project)
		}
	}
	return nil
}

// cleanLeftovers removes containers an unfinished run had added, and their
// backends from the balancer.
func (rt *Runtime) cleanLeftovers(ctx context.Context) error {
	if err := rt.closeReplicas(ctx); err != nil {
		return fmt.Errorf("remove the replicated Redis an earlier run left: %w", err)
	}
	for name, id := range rt.added {
		if err := rt.remove(ctx, id); err != nil {
			return fmt.Errorf("remove %s, left by an earlier run: %w", name, err)
		}
		delete(rt.added, name)
	}
	return rt.lb.Restore(ctx, rt.policies)
}

// Describe says what the lab runs on.
func (rt *Runtime) Describe() string {
	return fmt.Sprintf("containers of the compose stack %q (Docker API %s); Redis: the %s container", rt.opts.Project, rt.engine, rt.redisImg)
}

// Endpoints are the balancer's URLs on the stack's network.
func (rt *Runtime) Endpoints() lab.Endpoints {
	return lab.Endpoints{About: rt.Describe(), Pools: rt.pools, Admin: rt.opts.Admin, AdminToken: rt.opts.AdminToken, Redis: rt.opts.Redis}
}

// Instances lists a variant's base instances.
func (rt *Runtime) Instances(v statelab.Variant) []string { return slices.Clone(rt.instances[v]) }

// InstanceURL is an instance's URL on the stack's network.
func (rt *Runtime) InstanceURL(name string) string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if a, ok := rt.addrs[name]; ok {
		return "http://" + a
	}
	return ""
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

// variantOf returns the variant of a base instance.
func (rt *Runtime) variantOf(name string) statelab.Variant {
	for v, names := range rt.instances {
		if slices.Contains(names, name) {
			return v
		}
	}
	return ""
}

// base lists every base instance.
func (rt *Runtime) base() []string {
	var out []string
	for _, v := range statelab.Variants {
		out = append(out, rt.instances[v]...)
	}
	return out
}
