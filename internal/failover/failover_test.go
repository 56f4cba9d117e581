package failover_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"statelab/internal/failover"
	"statelab/internal/poll"
	"statelab/internal/redistest"
	"statelab/servers/store/redisstore"
)

func start(t *testing.T, link time.Duration) *failover.Set {
	t.Helper()
	s, err := failover.Start(context.Background(), failover.Options{Link: link})
	if errors.Is(err, failover.ErrNotFound) {
		redistest.Absent(t, "redis-server is not on PATH (apt-get install redis-server)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFailover: what the primary acknowledged before the link stalled
// survives the failover; what it acknowledged while the link stalled is
// gone once the primary dies and Sentinel promotes the replica; and a
// write with WAIT during the stall is refused, not acknowledged.
func TestFailover(t *testing.T) {
	ctx := context.Background()
	s := start(t, 50*time.Millisecond)
	rdb := redisstore.FailoverClient(failover.Master, s.SentinelAddrs(), 2*time.Second)
	defer rdb.Close()

	if p, err := s.Primary(ctx); err != nil || p != s.PrimaryAddr() {
		t.Fatalf("Sentinel's primary: %q, %v; want %s", p, err, s.PrimaryAddr())
	}
	if err := rdb.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	caughtUp(t, s)

	s.Stall(true)
	if err := rdb.Set(ctx, "during", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// With WAIT, the same kind of write is not acknowledged: no replica
	// has it in time.
	waited := redisstore.New(rdb, "w:").WaitReplica(300 * time.Millisecond)
	if err := waited.Commit(ctx, "x", []byte("v"), time.Now().Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "no replica acknowledged") {
		t.Fatalf("a write with WAIT through a stalled link: %v; want no replica acknowledged", err)
	}
	p, r, err := s.Offsets(ctx)
	if err != nil || p <= r {
		t.Fatalf("offsets while stalled: primary %d, replica %d, %v; want the primary ahead", p, r, err)
	}

	if err := s.KillPrimary(); err != nil {
		t.Fatal(err)
	}
	if err := poll.Until(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		p, err := s.Primary(ctx)
		if err != nil {
			return err
		}
		if p != s.ReplicaAddr() {
			return errors.New("the primary is still " + p)
		}
		return nil
	}); err != nil {
		t.Fatalf("no promotion: %v", err)
	}
	// The client follows Sentinel to the promoted replica.
	if err := poll.Until(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		return rdb.Get(ctx, "before").Err()
	}); err != nil {
		t.Fatalf("the client never reached the new primary: %v", err)
	}
	if n, err := rdb.Exists(ctx, "during").Result(); err != nil || n != 0 {
		t.Fatalf("the write acknowledged while the link stalled: exists %d, %v; want gone", n, err)
	}
}

// caughtUp waits until the replica has applied all the primary sent.
func caughtUp(t *testing.T, s *failover.Set) {
	t.Helper()
	if err := poll.Until(context.Background(), 10*time.Second, 10*time.Millisecond, func(ctx context.Context) error {
		p, r, err := s.Offsets(ctx)
		if err != nil {
			return err
		}
		if r < p {
			return errors.New("the replica is behind")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
