package lb

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"statelab/internal/poll"
)

// TestAlive: an idle connection is alive until the other end closes it or
// sends something unasked.
func TestAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (net.Conn, net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c, <-accepted
	}
	c, s := dial()
	if !alive(c) {
		t.Error("an open idle connection is not alive")
	}
	s.Close()
	dead := func(c net.Conn) func(context.Context) error {
		return func(context.Context) error {
			if alive(c) {
				return errors.New("still alive")
			}
			return nil
		}
	}
	if err := poll.Until(context.Background(), 2*time.Second, time.Millisecond, dead(c)); err != nil {
		t.Fatalf("a connection the other end closed: %v", err)
	}
	c2, s2 := dial()
	s2.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n"))
	if err := poll.Until(context.Background(), 2*time.Second, time.Millisecond, dead(c2)); err != nil {
		t.Fatalf("a connection with unasked data: %v", err)
	}
	c.Close()
	c2.Close()
	s2.Close()
}
