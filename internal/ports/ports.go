// Package ports hands out free loopback TCP ports for the processes a lab
// starts, never the same one twice. The kernel may give a port it just
// handed out again once it is closed; two children of one lab given the
// same port would have one answer for the other.
package ports

import (
	"fmt"
	"net"
	"sync"
)

// Allocator hands out ports. The zero value is ready.
type Allocator struct {
	mu   sync.Mutex
	used map[int]bool
}

// Free returns a loopback port that is free now and that this allocator has
// not handed out before. Another process may still take it before the
// caller binds it: callers retry on "address already in use", and check
// that what answers there is what they started.
func (a *Allocator) Free() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.used == nil {
		a.used = map[int]bool{}
	}
	for tries := 0; tries < 100; tries++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !a.used[port] {
			a.used[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port that was not handed out before, in 100 tries")
}

// Addr returns 127.0.0.1:PORT for a port from Free.
func (a *Allocator) Addr() (string, error) {
	port, err := a.Free()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(port)), nil
}
