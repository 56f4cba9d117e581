package labredis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"statelab/internal/labredis"
	"statelab/servers/store/redisstore"
)

// TestEmbeddedStopsUnderTraffic: the embedded Redis stopped and started
// again while clients keep asking it for INFO (as a page polling /stats
// does): no crash of the lab's process; asked while stopped, an error;
// started again, answers, with what a stop without persistence empties
// gone.
func TestEmbeddedStopsUnderTraffic(t *testing.T) {
	ctx := context.Background()
	r, err := labredis.Start(ctx, labredis.Embedded)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rdb := redisstore.Client(r.Addr(), 200*time.Millisecond)
	defer rdb.Close()
	if err := rdb.Set(ctx, "statelab:x", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var asked atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := redisstore.Client(r.Addr(), 200*time.Millisecond)
			defer c.Close()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Info(ctx, "stats")
				asked.Add(1)
			}
		}()
	}
	for range 20 {
		if err := r.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := rdb.Ping(ctx).Err(); err == nil {
			t.Fatal("a stopped Redis answered PING")
		}
		if err := r.Start(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("started again, Redis does not answer: %v", err)
	}
	if n, _ := rdb.Exists(ctx, "statelab:x").Result(); n != 0 {
		t.Error("a stop without persistence kept a key")
	}
	if asked.Load() == 0 {
		t.Error("no INFO was sent: the test tested nothing")
	}
}
