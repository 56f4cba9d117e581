package machine

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRedis serves PINGs on a loopback port the way answer says: it is
// called for each PING read and returns what to do with it.
func fakeRedis(t *testing.T, answer func(n int) (reply string, close bool)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var pings atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					// A PING is four lines: *1, $4, PING, and its end.
					for range 3 {
						if _, err := rd.ReadString('\n'); err != nil {
							return
						}
					}
					reply, closeIt := answer(int(pings.Add(1)))
					if closeIt {
						return
					}
					if reply != "" {
						if _, err := c.Write([]byte(reply)); err != nil {
							return
						}
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestQuietRedisIsSampled(t *testing.T) {
	addr := fakeRedis(t, func(int) (string, bool) { return "+PONG\r\n", false })
	w := Start(context.Background(), addr, time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for w.Read().RedisN < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %+v, want 5 PINGs", w.Read())
		}
		time.Sleep(time.Millisecond)
	}
	r := w.Stop()
	if r.RedisN < 5 || r.RedisMax <= 0 || r.RedisP99 > r.RedisMax {
		t.Errorf("reading %+v", r)
	}
}

// A Redis that stops answering just before the scenario ends (paused by
// a busy machine) must show in the reading: the PING it left unanswered
// counts, with the time it waited, when the watch stops.
func TestStallAtTheEnd(t *testing.T) {
	stalled := make(chan struct{})
	addr := fakeRedis(t, func(n int) (string, bool) {
		if n <= 3 {
			return "+PONG\r\n", false
		}
		if n == 4 {
			close(stalled)
		}
		return "", false // never answers
	})
	w := Start(context.Background(), addr, time.Millisecond)
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the fourth PING never came")
	}
	const wait = 200 * time.Millisecond
	time.Sleep(wait) // the stall being measured, not a wait for a result
	r := w.Stop()
	if r.RedisN != 4 {
		t.Errorf("RedisN = %d, want 3 answered and 1 cut by Stop", r.RedisN)
	}
	if r.RedisMax < wait {
		t.Errorf("RedisMax = %v, want at least the %v the last PING waited", r.RedisMax, wait)
	}
}

// A Redis that is down says nothing about the machine: a connection it
// closes, and a port nobody listens on, are no samples.
func TestDownIsNoSample(t *testing.T) {
	closing := fakeRedis(t, func(int) (string, bool) { return "", true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	for name, addr := range map[string]string{"closes": closing, "refuses": refused} {
		t.Run(name, func(t *testing.T) {
			r := Measure(context.Background(), addr, 100*time.Millisecond)
			// Every PING of "closes" ends in a closed connection, no
			// sample; only the last may be cut by Stop before the close
			// arrives, and that one is a sample by design (TestStallAtTheEnd).
			most := 0
			if name == "closes" {
				most = 1
			}
			if r.RedisN > most {
				t.Errorf("reading %+v, want at most %d Redis samples", r, most)
			}
			if r.WakeN == 0 {
				t.Errorf("reading %+v, want wake-up samples", r)
			}
		})
	}
}
