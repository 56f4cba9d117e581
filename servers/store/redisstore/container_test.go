package redisstore_test

import (
	"context"
	"testing"
	"time"

	"statelab/internal/containertest"
	"statelab/servers/store"
	"statelab/servers/store/redisstore"
	"statelab/servers/store/storetest"
)

// TestConformanceContainer runs the conformance suite against Redis in a
// container, the way the workshop stack runs it.
func TestConformanceContainer(t *testing.T) {
	_, addr := containertest.Redis(t, nil)
	storetest.Run(t, func(t *testing.T) store.Backend {
		rdb := redisstore.Client(addr, time.Second)
		t.Cleanup(func() { rdb.Close() })
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		return redisstore.New(rdb, "")
	})
}
