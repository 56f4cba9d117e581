package redisstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"statelab/internal/redisserver"
	"statelab/internal/redistest"
	"statelab/servers/store"
	"statelab/servers/store/redisstore"
	"statelab/servers/store/storetest"
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redisserver.Options{})
	storetest.Run(t, func(t *testing.T) store.Backend {
		rdb := redisstore.Client(srv.Addr, time.Second)
		t.Cleanup(func() { rdb.Close() })
		if err := rdb.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		return redisstore.New(rdb, "")
	})
}

// TestUnavailable checks that an outage is an error wrapping ErrUnavailable,
// never "not found", and that it costs milliseconds, whether Redis is gone
// (connection refused) or hangs (accepts and never answers).
func TestUnavailable(t *testing.T) {
	srv := redistest.Start(t, redisserver.Options{})
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, addr string }{
		{"stopped", srv.Addr},
		{"hanging", hang.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redisstore.Client(tc.addr, 100*time.Millisecond)
			defer rdb.Close()
			s := redisstore.New(rdb, "")
			start := time.Now()
			_, found, err := s.Find(context.Background(), "id")
			if took := time.Since(start); took > 300*time.Millisecond {
				t.Errorf("Find took %s with Redis %s; want milliseconds", took, tc.name)
			}
			if found || !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Find = found %v, err %v; want ErrUnavailable", found, err)
			}
			if err := s.Commit(context.Background(), "id", []byte("x"), time.Now().Add(time.Minute)); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Commit err = %v, want ErrUnavailable", err)
			}
		})
	}
}
