package local

import (
	"context"
	"fmt"
	"strings"
	"time"

	"statelab/internal/failover"
	"statelab/internal/labredis"
	"statelab/lab"
)

// CanReplicate says why the lab cannot run a replicated Redis: it needs
// redis-server, for the replica and the Sentinels.
func (rt *Runtime) CanReplicate() error {
	if !labredis.ServerOnPath() {
		return fmt.Errorf("it needs redis-server on PATH for a replica and Sentinels (apt-get install redis-server)")
	}
	return nil
}

// Replicate starts a primary, a replica and three Sentinels as
// redis-server processes, the replica's link through a delay proxy.
func (rt *Runtime) Replicate(ctx context.Context, link time.Duration) (lab.Replication, error) {
	if err := rt.closeReplicas(); err != nil {
		return nil, err
	}
	s, err := failover.Start(ctx, failover.Options{Link: link})
	if err != nil {
		return nil, fmt.Errorf("a replicated Redis: %w", err)
	}
	rt.mu.Lock()
	rt.replicas = s
	rt.mu.Unlock()
	return replication{s}, nil
}

// closeReplicas ends the replicated Redis, if one runs.
func (rt *Runtime) closeReplicas() error {
	rt.mu.Lock()
	s := rt.replicas
	rt.replicas = nil
	rt.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}

// replication is a failover.Set as a lab.Replication.
type replication struct{ s *failover.Set }

func (r replication) Describe() string {
	return fmt.Sprintf("redis-server %s: a primary on %s; a replica on %s, its link from the primary through a delay proxy (%s) adding %d ms; %d Sentinels on %s, quorum %d, the primary down after %d ms without an answer",
		r.s.Version(), r.s.PrimaryAddr(), r.s.ReplicaAddr(), r.s.LinkAddr(), r.s.Link().Milliseconds(), failover.Sentinels, strings.Join(r.s.SentinelAddrs(), ", "), failover.Quorum, failover.DownAfter.Milliseconds())
}
func (r replication) Sentinels() string   { return strings.Join(r.s.SentinelAddrs(), ",") }
func (r replication) PrimaryAddr() string { return r.s.PrimaryAddr() }
func (r replication) ReplicaAddr() string { return r.s.ReplicaAddr() }
func (r replication) Primary(ctx context.Context) (string, error) {
	return r.s.Primary(ctx)
}
func (r replication) Offsets(ctx context.Context) (int64, int64, error) { return r.s.Offsets(ctx) }
func (r replication) Stall(_ context.Context, on bool) error {
	r.s.Stall(on)
	return nil
}
func (r replication) KillPrimary(context.Context) error { return r.s.KillPrimary() }
