package scenarios

import (
	"context"
	"errors"
	"fmt"
	"time"

	"statelab"
	"statelab/internal/poll"
	"statelab/lab"
)

// Replicate starts a replicated Redis (a primary, a replica behind a link
// of latency link, Sentinels; see lab.Replicator), replacing one the run
// started before, and restarts every instance of the variants that keep
// sessions in Redis with s, finding the primary through its Sentinels.
// The other variants never ask Redis, and are left alone.
func (r *Run) Replicate(link time.Duration, s lab.Settings) (lab.Replication, error) {
	rep, err := lab.Replicate(r.ctx, r.rn.rt, link)
	if err != nil {
		return nil, err
	}
	r.world.replicated()
	r.replication = trackedReplication{Replication: rep, w: r.world}
	s.Sentinels = rep.Sentinels()
	for _, v := range statelab.Variants {
		if v.Describe().DiesWithStore() {
			if err := r.RestartVariant(v, s); err != nil {
				return nil, err
			}
		}
	}
	return r.replication, nil
}

// Replication is the replicated Redis the run started last, or nil.
func (r *Run) Replication() lab.Replication { return r.replication }

// AwaitPromotion asks the Sentinels where the primary is, every interval,
// until they name another than was, within limit; it returns the new
// primary's address and when it was first seen.
func (r *Run) AwaitPromotion(was string, interval, limit time.Duration) (string, time.Time, error) {
	rep := r.Replication()
	if rep == nil {
		return "", time.Time{}, errors.New("no replicated Redis runs")
	}
	var addr string
	err := poll.Until(r.ctx, r.rn.timing.wait(limit), interval, func(ctx context.Context) error {
		a, err := rep.Primary(ctx)
		if err != nil {
			return err
		}
		if a == was {
			return fmt.Errorf("the Sentinels still name %s", was)
		}
		addr = a
		return nil
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("no promotion: %w", err)
	}
	return addr, time.Now(), nil
}

// trackedReplication tells the world what the scenario does to the
// replicated Redis: which sessions a promotion loses, which failed
// answers the failover explains.
type trackedReplication struct {
	lab.Replication
	w *world
}

func (t trackedReplication) Stall(ctx context.Context, on bool) error {
	err := t.Replication.Stall(ctx, on)
	t.w.mu.Lock()
	if on {
		t.w.stalled = time.Now()
	} else {
		t.w.stalled = time.Time{}
	}
	t.w.mu.Unlock()
	return err
}

func (t trackedReplication) KillPrimary(ctx context.Context) error {
	t.w.mu.Lock()
	now := time.Now()
	t.w.primaryKilled = now
	t.w.lostSince = t.w.stalled
	t.w.faults = append(t.w.faults, fault{at: now})
	t.w.mu.Unlock()
	t.w.toldStore("primary killed", "the primary, killed by the scenario (SIGKILL); Sentinel is to promote the replica")
	return t.Replication.KillPrimary(ctx)
}

func (t trackedReplication) Primary(ctx context.Context) (string, error) {
	addr, err := t.Replication.Primary(ctx)
	if err == nil && addr == t.ReplicaAddr() {
		t.w.mu.Lock()
		first := !t.w.primaryKilled.IsZero() && !t.w.promoted
		t.w.promoted = t.w.promoted || first
		t.w.mu.Unlock()
		if first {
			t.w.toldStore("replica promoted", "Sentinel promoted the replica: it is the primary now")
		}
	}
	return addr, err
}
