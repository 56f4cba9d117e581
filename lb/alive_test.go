package lb

import (
	"net"
	"testing"
	"time"
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
	deadline := time.Now().Add(2 * time.Second)
	for alive(c) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the other end closed is still alive")
		}
		time.Sleep(time.Millisecond)
	}
	c2, s2 := dial()
	s2.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n"))
	for alive(c2) {
		if time.Now().After(deadline) {
			t.Fatal("a connection with unasked data is still alive")
		}
		time.Sleep(time.Millisecond)
	}
	c.Close()
	c2.Close()
	s2.Close()
}
