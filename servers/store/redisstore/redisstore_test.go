package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"statelab/internal/poll"

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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCounters: Stats reads counters the store keeps beside the records:
// a record Redis expired leaves them at the next Stats, one Redis dropped
// before its expiry (as maxmemory would) when a lookup finds it gone, and
// the records a lab counts (RecordSizes) leave the counters out.
func TestCounters(t *testing.T) {
	srv := redistest.Start(t, redisserver.Options{})
	rdb := redisstore.Client(srv.Addr, time.Second)
	defer rdb.Close()
	ctx := context.Background()
	s := redisstore.New(rdb, "")
	if err := s.Commit(ctx, "short", []byte("abc"), time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "evicted", []byte("defg"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "kept", []byte("hi"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, redisstore.DefaultPrefix+"evicted").Err(); err != nil { // as an eviction would
		t.Fatal(err)
	}
	if _, found, err := s.Find(ctx, "evicted"); found || err != nil {
		t.Fatalf("an evicted record: found %v, %v", found, err)
	}
	err := poll.Until(ctx, 5*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		st, err := s.Stats(ctx)
		if err != nil {
			return err
		}
		if st.Sessions != 1 || st.Bytes != int64(len("kept")+len("hi")) {
			return fmt.Errorf("stats %+v, want the one session kept", st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := redisstore.RecordSizes(ctx, rdb)
	if err != nil || keys != 1 {
		t.Errorf("records: %d, %v; want 1 (the counters are not records)", keys, err)
	}
}
