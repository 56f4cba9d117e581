package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

// fakeRedis is a Redis that answers every command with a nil reply, after
// what each connection's commands get decides: it counts the commands it
// read, and act(conn number, command number) says whether to answer,
// close the connection without answering, or never answer.
type fakeRedis struct {
	ln       net.Listener
	commands atomic.Int64
	names    chan string                // every command's name, as it comes (bounded)
	act      func(conn, cmd int) string // "answer", "close" or "hang"
}

func startFake(t *testing.T, act func(conn, cmd int) string) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{ln: ln, act: act, names: make(chan string, 100)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(2)
			done := make(chan struct{})
			go func() { // the test ends: so does this connection
				defer wg.Done()
				select {
				case <-done:
				case <-stop:
				}
				c.Close()
			}()
			go func() {
				defer wg.Done()
				defer close(done)
				rd := bufio.NewReader(c)
				for k := 0; ; k++ {
					name, err := readCommand(rd)
					if err != nil {
						return
					}
					if strings.EqualFold(name, "hello") {
						// What a Redis 5 says: the client goes on with RESP2.
						if _, err := c.Write([]byte("-ERR unknown command 'HELLO'\r\n")); err != nil {
							return
						}
						k--
						continue
					}
					f.commands.Add(1)
					select {
					case f.names <- name:
					default:
					}
					switch f.act(n, k) {
					case "close":
						return
					case "hang":
						<-stop
						return
					}
					if _, err := c.Write([]byte("$-1\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return f
}

// readCommand reads one RESP command, an array of bulk strings, and
// returns its name.
func readCommand(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || !strings.HasPrefix(line, "*") {
		return "", fmt.Errorf("not a command: %q", line)
	}
	name := ""
	for i := 0; i < n; i++ {
		head, err := rd.ReadString('\n')
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
		if err != nil || size < 0 || size > 1<<20 {
			return "", fmt.Errorf("not a bulk string: %q", head)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(b[:size])
		}
	}
	return name, nil
}

// TestUnavailable checks that an outage is an error wrapping ErrUnavailable,
// never "not found", whether Redis is gone (connection refused) or hangs
// (accepts and never answers), and that a hanging Redis is asked once:
// a timeout is not retried, so an outage costs one timeout, not two.
func TestUnavailable(t *testing.T) {
	srv := redistest.Start(t, redisserver.Options{})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	hang := startFake(t, func(int, int) string { return "hang" })
	for _, tc := range []struct {
		name, addr string
		asked      *atomic.Int64
	}{
		{"stopped", srv.Addr, nil},
		{"hanging", hang.ln.Addr().String(), &hang.commands},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redisstore.Client(tc.addr, 100*time.Millisecond)
			defer rdb.Close()
			s := redisstore.New(rdb, "")
			start := time.Now()
			_, found, err := s.Find(context.Background(), "id")
			// Only a hang is caught here (go-redis's defaults would take
			// seconds): one timeout of 100 ms on a busy machine is far less.
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Find took %s with Redis %s: a hang", took, tc.name)
			}
			if found || !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Find = found %v, err %v; want ErrUnavailable", found, err)
			}
			if tc.asked != nil && tc.asked.Load() != 1 {
				t.Errorf("a hanging Redis was sent %d commands for one Find; want 1 (no retry after a timeout)", tc.asked.Load())
			}
			if err := s.Commit(context.Background(), "id", []byte("x"), time.Now().Add(time.Minute)); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("Commit err = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestBrokenConnectionRetried: a command whose connection is closed before
// its answer (a Redis restarted since the connection was pooled) is sent
// once more, on a new connection, and succeeds; one that breaks twice is
// an outage.
func TestBrokenConnectionRetried(t *testing.T) {
	once := startFake(t, func(conn, cmd int) string {
		if conn == 0 {
			return "close"
		}
		return "answer"
	})
	rdb := redisstore.Client(once.ln.Addr().String(), time.Second)
	defer rdb.Close()
	if err := rdb.Get(context.Background(), "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET after one broken connection: %v, want a plain nil reply", err)
	}
	if got := once.commands.Load(); got != 2 {
		t.Errorf("%d commands sent (%s), want 2 (the first, then its retry)", got, drain(once.names))
	}

	always := startFake(t, func(int, int) string { return "close" })
	rdb2 := redisstore.Client(always.ln.Addr().String(), time.Second)
	defer rdb2.Close()
	s := redisstore.New(rdb2, "")
	if _, _, err := s.Find(context.Background(), "id"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Find with every connection broken: %v, want ErrUnavailable", err)
	}
	if got := always.commands.Load(); got != 2 {
		t.Errorf("%d commands sent (%s), want 2: one retry, no more", got, drain(always.names))
	}
}

// drain says the names a channel holds now.
func drain(ch chan string) string {
	var out []string
	for {
		select {
		case s := <-ch:
			out = append(out, s)
		default:
			return strings.Join(out, " ")
		}
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
	// The short record's expiry is counted from when Redis ran the
	// write (its clock); the sweep's from this process's: on a busy
	// machine one passes before the other, so both are waited for.
	err := poll.Until(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		st, err := s.Stats(ctx)
		if err != nil {
			return err
		}
		if st.Sessions != 1 || st.Bytes != int64(len("kept")+len("hi")) {
			return fmt.Errorf("stats %+v, want the one session kept", st)
		}
		keys, _, err := redisstore.RecordSizes(ctx, rdb)
		if err != nil || keys != 1 {
			return fmt.Errorf("records: %d, %v; want 1 (the counters are not records)", keys, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
