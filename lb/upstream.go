package lb

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// upConn is a kept-alive HTTP/1.1 connection to a backend, used by one
// request at a time, from the request's own goroutine.
type upConn struct {
	conn     net.Conn
	peek     *peeker
	br       *bufio.Reader
	bw       *bufio.Writer
	lastUsed time.Time
}

// upstream holds a backend's idle connections, newest last.
type upstream struct {
	// stray is told of a connection on which the backend sent bytes
	// nobody asked for: it is closed, never used again.
	stray  func(where string)
	addr   func() string
	dialer *net.Dialer
	fds    *descriptors // the balancer's budget, which every dial takes from

	mu   sync.Mutex
	idle []*upConn
}

// Limits of the connections to a backend.
const (
	// maxIdle is the most idle connections kept per backend.
	maxIdle = 128
	// idleTimeout closes a connection idle this long.
	idleTimeout = 90 * time.Second
	// upBufferSize is each connection's read and write buffer. A response
	// header larger than this is read through a larger buffer, up to
	// maxResponseHeader, once (see exchange).
	upBufferSize = 8 << 10
)

// get returns an idle connection, or dials a new one. reused reports which.
// An idle connection is used again only when the backend has neither
// closed it nor sent anything on it since its last response ended: bytes
// it sent unasked would be taken for the next request's answer. The
// address is resolved on every dial, so a backend that comes back with a
// new address is found.
func (u *upstream) get(now time.Time) (c *upConn, reused bool, err error) {
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
		if now.Sub(c.lastUsed) > idleTimeout {
			c.conn.Close()
			continue
		}
		switch c.peek.look() {
		case idleStray:
			u.strayed("while the connection was idle")
			c.conn.Close()
			continue
		case idleClosed:
			c.conn.Close()
			continue
		}
		return c, true, nil
	}
	nc, raw, err := u.dial()
	if err != nil {
		return nil, false, err
	}
	return &upConn{conn: nc, peek: newPeeker(raw), br: newReader(nc), bw: newWriter(nc)}, false, nil
}

// errNoDescriptors is a dial the balancer did not make: its budget of
// file descriptors is spent. The balancer's trouble, not the backend's.
var errNoDescriptors = fmt.Errorf("the balancer is out of file descriptors: %w", syscall.EMFILE)

// dial connects to the backend with a descriptor from the budget, given
// back when the connection closes; raw is the connection under the guard.
func (u *upstream) dial() (c, raw net.Conn, err error) {
	if u.fds != nil && !u.fds.take() {
		return nil, nil, errNoDescriptors
	}
	raw, err = u.dialer.Dial("tcp", u.addr())
	if err != nil {
		if u.fds != nil {
			u.fds.give()
		}
		return nil, nil, err
	}
	if u.fds == nil {
		return raw, raw, nil
	}
	return &guardedConn{Conn: raw, release: u.fds.give}, raw, nil
}

// idleState is how an idle connection to a backend is found.
type idleState int

const (
	idleOpen   idleState = iota // open, nothing unread: fit for the next request
	idleClosed                  // the backend closed it
	idleStray                   // the backend sent bytes unasked
)

func (u *upstream) strayed(where string) {
	if u.stray != nil {
		u.stray(where)
	}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, upBufferSize) }
func newWriter(c net.Conn) *bufio.Writer { return bufio.NewWriterSize(c, upBufferSize) }

// put keeps a connection whose last exchange ended exactly: the whole
// response read, nothing more buffered.
func (u *upstream) put(c *upConn) {
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
