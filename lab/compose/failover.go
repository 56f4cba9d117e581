package compose

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"statelab/internal/delay"
	"statelab/internal/failover"
	"statelab/internal/parallel"
	"statelab/internal/poll"
	"statelab/lab"
)

// The containers of a replicated Redis, in the order they are removed:
// the link first, which lives in the replica's network namespace.
var failoverNames = []string{"failover-link", "failover-sentinel-1", "failover-sentinel-2", "failover-sentinel-3", "failover-replica", "failover-primary"}

// Ports inside the failover containers.
const (
	redisPort    = "6379"
	linkPort     = "6381" // the replica's end of the link, in its own namespace
	linkControl  = "6391"
	sentinelPort = 26379
)

var _ lab.Replicator = (*Runtime)(nil)

// CanReplicate: the stack's Redis image runs a replica and Sentinels too.
func (rt *Runtime) CanReplicate() error { return nil }

// Replicate starts a primary, a replica and three Sentinels as containers
// of the stack's Redis image on its network, and the link between the
// replica and the primary as a delay proxy (the lab image's `lab delay`)
// in the replica's network namespace: the replica replicates from
// 127.0.0.1:6381, and the primary sees it at its own address.
func (rt *Runtime) Replicate(ctx context.Context, link time.Duration) (lab.Replication, error) {
	if err := rt.closeReplicas(ctx); err != nil {
		return nil, err
	}
	r, err := rt.replicate(ctx, link)
	if err != nil {
		_ = rt.closeReplicas(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("a replicated Redis: %w", err)
	}
	return r, nil
}

func (rt *Runtime) replicate(ctx context.Context, link time.Duration) (*replicated, error) {
	r := &replicated{rt: rt, linkDelay: link}
	redisArgs := []string{"--save", "", "--appendonly", "no", "--protected-mode", "no"}
	var err error
	var primaryID string
	if primaryID, err = rt.addFailover(ctx, "failover-primary", rt.redisImg, nil, redisArgs, ""); err != nil {
		return nil, err
	}
	if r.primaryIP, err = rt.ipOf(ctx, primaryID); err != nil {
		return nil, err
	}
	replicaID, err := rt.addFailover(ctx, "failover-replica", rt.redisImg, nil, append(redisArgs, "--replicaof", "127.0.0.1", linkPort), "")
	if err != nil {
		return nil, err
	}
	if r.replicaIP, err = rt.ipOf(ctx, replicaID); err != nil {
		return nil, err
	}
	delayInfo, err := rt.inspect(ctx, rt.ids["redis-delay"])
	if err != nil {
		return nil, fmt.Errorf("the redis-delay service, whose image runs the link: %w", err)
	}
	linkArgs := []string{"delay", "--listen", ":" + linkPort, "--to", net.JoinHostPort(r.primaryIP, redisPort), "--control", ":" + linkControl}
	if _, err := rt.addFailover(ctx, "failover-link", delayInfo.Config.Image, nil, linkArgs, replicaID); err != nil {
		return nil, err
	}
	r.control = "http://" + net.JoinHostPort(r.replicaIP, linkControl)
	if err := poll.Until(ctx, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		return delay.Set(&http.Client{Timeout: 2 * time.Second}, r.control, link)
	}); err != nil {
		return nil, fmt.Errorf("the replication link's control API: %w", err)
	}
	if err := poll.Until(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		return failover.ReplicaReady(ctx, r.ReplicaAddr())
	}); err != nil {
		return nil, fmt.Errorf("the replica never synchronised with the primary: %w", err)
	}
	for i := range failover.Sentinels {
		name := fmt.Sprintf("failover-sentinel-%d", i+1)
		conf := failover.SentinelConf(sentinelPort, "0.0.0.0", r.primaryIP, redisPort, "/", 0)
		id, err := rt.addFailover(ctx, name, rt.redisImg, []string{"redis-server"}, []string{"/sentinel.conf", "--sentinel"}, "", file{"/sentinel.conf", conf})
		if err != nil {
			return nil, err
		}
		ip, err := rt.ipOf(ctx, id)
		if err != nil {
			return nil, err
		}
		r.sentinels = append(r.sentinels, net.JoinHostPort(ip, fmt.Sprint(sentinelPort)))
	}
	err = parallel.Do(r.sentinels, func(addr string) error {
		return poll.Until(ctx, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) error { return failover.SentinelReady(ctx, addr) })
	})
	if err != nil {
		return nil, fmt.Errorf("the Sentinels never knew the replica and each other: %w", err)
	}
	return r, nil
}

// file is one file copied into a container before it starts.
type file struct{ path, text string }

// addFailover creates and starts a container of the replicated Redis on
// the stack's network (or, with netOf, in that container's network
// namespace), as an added container: Reset and the next run's clean-up
// remove it.
func (rt *Runtime) addFailover(ctx context.Context, name, image string, entrypoint, cmd []string, netOf string, files ...file) (string, error) {
	cfg := &container.Config{
		Image:      image,
		Cmd:        cmd,
		Entrypoint: entrypoint,
		Labels:     map[string]string{labelProject: rt.opts.Project, labelService: name, labelAdded: "true"},
	}
	host := &container.HostConfig{}
	nets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{rt.network: {Aliases: []string{name}}}}
	if netOf != "" {
		host.NetworkMode = container.NetworkMode("container:" + netOf)
		nets = nil
	}
	created, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: rt.opts.Project + "-" + name, Config: cfg, HostConfig: host, NetworkingConfig: nets,
	})
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	rt.mu.Lock()
	rt.added[name] = created.ID
	rt.mu.Unlock()
	for _, f := range files {
		if err := rt.writeFile(ctx, created.ID, f.path, []byte(f.text)); err != nil {
			return "", fmt.Errorf("%s: write %s: %w", name, f.path, err)
		}
	}
	if _, err := rt.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	return created.ID, nil
}

// ipOf is a container's address on the stack's network.
func (rt *Runtime) ipOf(ctx context.Context, id string) (string, error) {
	info, err := rt.inspect(ctx, id)
	if err != nil {
		return "", err
	}
	if ep := info.NetworkSettings.Networks[rt.network]; ep != nil && ep.IPAddress.IsValid() {
		return ep.IPAddress.String(), nil
	}
	return "", fmt.Errorf("%s has no address on %s", strings.TrimPrefix(info.Name, "/"), rt.network)
}

// closeReplicas removes the replicated Redis's containers, link first.
func (rt *Runtime) closeReplicas(ctx context.Context) error {
	for _, name := range failoverNames {
		rt.mu.Lock()
		_, ok := rt.added[name]
		rt.mu.Unlock()
		if ok {
			if err := rt.Remove(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// replicated is the replicated Redis of the stack.
type replicated struct {
	rt                   *Runtime
	primaryIP, replicaIP string
	control              string // the link's control API
	sentinels            []string
	linkDelay            time.Duration
}

func (r *replicated) Describe() string {
	return fmt.Sprintf("containers of %s: a primary on %s; a replica on %s, its link from the primary through a delay proxy in its network namespace adding %d ms; %d Sentinels on %s, quorum %d, the primary down after %d ms without an answer",
		r.rt.redisImg, r.PrimaryAddr(), r.ReplicaAddr(), r.linkDelay.Milliseconds(), failover.Sentinels, strings.Join(r.sentinels, ", "), failover.Quorum, failover.DownAfter.Milliseconds())
}
func (r *replicated) Sentinels() string   { return strings.Join(r.sentinels, ",") }
func (r *replicated) PrimaryAddr() string { return net.JoinHostPort(r.primaryIP, redisPort) }
func (r *replicated) ReplicaAddr() string { return net.JoinHostPort(r.replicaIP, redisPort) }
func (r *replicated) Primary(ctx context.Context) (string, error) {
	return failover.PrimaryOf(ctx, r.sentinels)
}
func (r *replicated) Offsets(ctx context.Context) (int64, int64, error) {
	return failover.OffsetsOf(ctx, r.PrimaryAddr(), r.ReplicaAddr())
}
func (r *replicated) Stall(_ context.Context, on bool) error {
	return delay.SetStall(&http.Client{Timeout: 5 * time.Second}, r.control, on)
}

// KillPrimary sends the primary's container SIGKILL, then cuts the link,
// dropping what it held back.
func (r *replicated) KillPrimary(ctx context.Context) error {
	if err := r.rt.Kill(ctx, "failover-primary"); err != nil {
		return err
	}
	return delay.CutAll(&http.Client{Timeout: 5 * time.Second}, r.control)
}
