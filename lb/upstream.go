package lb

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// upConn is a kept-alive HTTP/1.1 connection to a backend, used by one
// request at a time, from the request's own goroutine: no reader or writer
// goroutines, no channels between them.
type upConn struct {
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// upstream holds a backend's idle connections, newest last.
type upstream struct {
	addr   func() string
	dialer *net.Dialer

	mu   sync.Mutex
	idle []*upConn
}

// Limits of the idle connections kept per backend.
const (
	maxIdle     = 512
	idleTimeout = 90 * time.Second
	// Connections idle longer than this are checked for an end the backend
	// sent (a restart or a graceful shutdown closes them) before they are
	// used again: a backend cannot be restarted faster than this. Under
	// load, connections come back sooner and skip the check.
	checkAfter = 5 * time.Millisecond
)

// get returns an idle connection, or dials a new one. reused reports which.
// The address is resolved on every dial, so a backend that comes back with
// a new address is found.
func (u *upstream) get(ctx context.Context) (c *upConn, reused bool, err error) {
	now := time.Now()
	for {
		u.mu.Lock()
		n := len(u.idle)
		if n == 0 {
			u.mu.Unlock()
			break
		}
		c = u.idle[n-1]
		u.idle[n-1] = nil
		u.idle = u.idle[:n-1]
		u.mu.Unlock()
		idle := now.Sub(c.lastUsed)
		if idle > idleTimeout || (idle > checkAfter && !alive(c.conn)) {
			c.conn.Close()
			continue
		}
		return c, true, nil
	}
	nc, err := u.dialer.DialContext(ctx, "tcp", u.addr())
	if err != nil {
		return nil, false, err
	}
	return &upConn{conn: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}, false, nil
}

// put keeps a connection whose last exchange ended cleanly.
func (u *upstream) put(c *upConn) {
	c.lastUsed = time.Now()
	u.mu.Lock()
	if len(u.idle) < maxIdle {
		u.idle = append(u.idle, c)
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	c.conn.Close()
}

// closeIdle closes every idle connection: the backend is down or gone.
func (u *upstream) closeIdle() {
	u.mu.Lock()
	idle := u.idle
	u.idle = nil
	u.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}
