package compose

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"statelab"
	"statelab/internal/poll"
	"statelab/lab"
)

// container finds a service's container by name and inspects it.
func (rt *Runtime) container(ctx context.Context, name string) (string, container.InspectResponse, error) {
	id, err := rt.id(name)
	if err != nil {
		return "", container.InspectResponse{}, err
	}
	info, err := rt.inspect(ctx, id)
	return id, info, err
}

func (rt *Runtime) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	r, err := rt.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return r.Container, err
}

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

// CrashAfterNextWrite sends a container SIGUSR1, which arms its crash, and
// waits until it says so.
func (rt *Runtime) CrashAfterNextWrite(ctx context.Context, name string) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	if _, err := rt.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "USR1"}); err != nil {
		return fmt.Errorf("arm %s: %w", name, err)
	}
	return lab.AwaitArmed(ctx, name, rt.InstanceURL(name))
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
	err := poll.Until(ctx, 15*time.Second, 10*time.Millisecond, func(ctx context.Context) error {
		info, err := rt.inspect(ctx, id)
		if err != nil {
			return poll.Stop(err)
		}
		if info.State.Running {
			return fmt.Errorf("%s still running", name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s was told to end: %w", name, err)
	}
	return nil
}

// Start starts an instance's container again. With settings, or when an
// earlier start changed it, the container is recreated with compose's
// environment plus the settings; without, it is the same container started
// again.
func (rt *Runtime) Start(ctx context.Context, name string, s lab.Settings) error {
	id, info, err := rt.container(ctx, name)
	if err != nil {
		return err
	}
	orig, _ := original(info)
	want := withEnv(orig.Env, s.Over(rt.tunedSettings()).Env())
	if !slices.Equal(want, info.Config.Env) {
		if _, err = rt.recreate(ctx, name, info, func(c *container.Config) { c.Env = want }); err != nil {
			return err
		}
	} else if !info.State.Running {
		if _, err := rt.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	return lab.WaitHTTP(ctx, name, rt.InstanceURL(name)+"/healthz", 30*time.Second)
}

// Add starts a new instance of a variant on the stack's network, configured
// as the variant's first instance, and returns its address.
func (rt *Runtime) Add(ctx context.Context, v statelab.Variant, name string, s lab.Settings) (string, error) {
	first := rt.instances[v][0]
	base, err := rt.inspect(ctx, rt.ids[first])
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(rt.addrs[first])
	if err != nil {
		return "", fmt.Errorf("%s's address %q: %w", first, rt.addrs[first], err)
	}
	orig, _ := original(base)
	cfg := *base.Config
	cfg.Hostname = ""
	cfg.Env = withEnv(orig.Env, map[string]string{"STATELAB_NAME": name})
	cfg.Env = withEnv(cfg.Env, s.Over(rt.tunedSettings()).Env())
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
	addr := net.JoinHostPort(name, port)
	rt.mu.Lock()
	rt.added[name] = created.ID
	rt.addrs[name] = addr
	rt.mu.Unlock()
	if _, err := rt.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	if err := lab.WaitHTTP(ctx, name, "http://"+addr+"/healthz", 30*time.Second); err != nil {
		return "", err
	}
	return addr, nil
}

// Remove removes an added instance's container.
func (rt *Runtime) Remove(ctx context.Context, name string) error {
	rt.mu.Lock()
	id, ok := rt.added[name]
	delete(rt.added, name)
	delete(rt.addrs, name)
	rt.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s was not added by the lab", name)
	}
	if err := rt.remove(ctx, id); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// remove ends a container (SIGKILL) and then removes it. Docker 20.10
// once kept a network endpoint of a container force-removed while it ran:
// the project's network could then not be removed ("has active
// endpoints") until the engine restarted. Stopping it first lets the
// engine release the endpoint before the container goes.
func (rt *Runtime) remove(ctx context.Context, id string) error {
	now := 0
	// A container gone already fails here, and in the removal, which says so.
	_, _ = rt.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &now})
	_, err := rt.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	return err
}

// SetKeys copies the keys file into the container and sends it SIGHUP.
func (rt *Runtime) SetKeys(ctx context.Context, name string, keys statelab.Keys) error {
	id, err := rt.id(name)
	if err != nil {
		return err
	}
	h, err := lab.Health(ctx, rt.InstanceURL(name))
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
	return lab.AwaitReload(ctx, name, rt.InstanceURL(name), h.Reloads)
}

// writeKeys puts the keys file in the container, as `docker cp` would.
func (rt *Runtime) writeKeys(ctx context.Context, id string, keys statelab.Keys) error {
	return rt.writeFile(ctx, id, rt.opts.KeysFile, keys.Format())
}

// writeFile puts a file at path in a container, created or running, as
// `docker cp` would.
func (rt *Runtime) writeFile(ctx context.Context, id, path string, data []byte) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir, file := "/", strings.TrimPrefix(path, "/")
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		dir, file = path[:i], path[i+1:]
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
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
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
	if err := rt.remove(ctx, info.ID); err != nil {
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
