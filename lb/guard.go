package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"statelab/lb/api"
)

// The balancer's connections come out of one budget of file descriptors
// for the whole process: client connections, connections to backends and
// upgraded connections all take from it, and each pool may hold only its
// share of client connections, each client address only a part of that.
// A connection over a bound is answered 503 and closed at once; an accept
// that fails because the process is out of descriptors is retried with a
// backoff, never the end of the pool's listener (fasthttp takes any accept
// error but a timeout for a permanent one), and the pool says it is
// shedding until an accept succeeds again.

// descriptors is a count of file descriptors in use against a budget.
type descriptors struct {
	max  int64
	used atomic.Int64
	// refused counts what the budget turned away: connections answered
	// 503, dials not made.
	refused atomic.Int64
}

// take reserves one descriptor, or reports that the budget is spent.
func (d *descriptors) take() bool {
	if d.used.Add(1) > d.max {
		d.used.Add(-1)
		d.refused.Add(1)
		return false
	}
	return true
}

func (d *descriptors) give() { d.used.Add(-1) }

// reserveDescriptors are kept out of the budget: listeners, health checks
// (a new connection each), the admin API, logs, and a refusal's moment.
const reserveDescriptors = 64

// descriptorBudget is what the process may open, less the reserve: the
// soft limit on open files (Go raises it to the hard limit at start).
func descriptorBudget() int64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<20 {
		return 1 << 20
	}
	return max(int64(lim.Cur)-reserveDescriptors, 16)
}

// perAddress counts what each client address holds open, against a bound.
// An address is in the map only while it holds something, so the map is
// never larger than the connections open.
type perAddress struct {
	mu    sync.Mutex
	max   int
	held  map[string]int
	total int
}

func newPerAddress(max int) *perAddress { return &perAddress{max: max, held: map[string]int{}} }

// take reserves one for addr, or reports that addr holds its most.
func (a *perAddress) take(addr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[addr] >= a.max {
		return false
	}
	a.held[addr]++
	a.total++
	return true
}

func (a *perAddress) give(addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[addr] <= 1 {
		delete(a.held, addr)
	} else {
		a.held[addr]--
	}
	a.total--
}

// open is how many are held, by every address.
func (a *perAddress) open() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// clientAddress is the host part of a client's address: the bound is per
// machine, not per port.
func clientAddress(c net.Conn) string {
	addr := c.RemoteAddr()
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	if addr == nil {
		return ""
	}
	return addr.String()
}

// listener is a pool's listener with its bounds: it answers 503 to a
// connection over the pool's share, its address's part or the process's
// descriptors, and retries accepts that failed for want of resources.
type listener struct {
	net.Listener
	p      *Pool
	closed chan struct{}
	once   sync.Once
}

func (p *Pool) guard(ln net.Listener) *listener {
	return &listener{Listener: ln, p: p, closed: make(chan struct{})}
}

// Close closes the listener and ends a backoff under way.
func (l *listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Backoff between accepts that failed for want of resources, as net/http's
// server does it.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// Accept returns the next connection within the bounds.
func (l *listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || !temporaryAccept(err) {
				return nil, err
			}
			l.p.shed(err)
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		delay = 0
		l.p.accepting()
		if gc, why := l.p.admit(c); gc != nil {
			return gc, nil
		} else {
			l.p.refuse(c, why)
		}
	}
}

// temporaryAccept reports an accept error that says the process or the
// system is short of something for now: out of descriptors, buffers or
// memory, or a connection that went away before it was accepted.
func temporaryAccept(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// admit takes what a new client connection needs from the pool's share,
// its address's part and the process's descriptors; it returns the
// connection that gives them back when closed, or why it cannot.
func (p *Pool) admit(c net.Conn) (net.Conn, string) {
	addr := clientAddress(c)
	fds := p.bl.fds
	if !p.clients.take(addr) {
		p.refusedAddress.Add(1)
		return nil, fmt.Sprintf("%s holds %d connections to this pool, the most one client address may", addr, p.clients.max)
	}
	why := ""
	switch {
	case p.clients.open() > p.clientConnsMax:
		why = fmt.Sprintf("the pool holds %d client connections, its share of the balancer's", p.clientConnsMax)
	case !fds.take():
		why = "the balancer is out of file descriptors"
	}
	if why != "" {
		p.clients.give(addr)
		p.refusedFull.Add(1)
		return nil, why
	}
	return &guardedConn{Conn: c, release: func() {
		fds.give()
		p.clients.give(addr)
	}}, ""
}

// refusal is what a connection over a bound is told before it is closed:
// the balancer's error, in the JSON every other refusal of it has (see
// writeProblem; no request was read, so none asked for HTML).
func (p *Pool) refusal(why string) []byte {
	body, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("pool %s: %s", p.Name, why), "pool": p.Name})
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"+
		"X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// refuse answers 503 on a connection over a bound and closes it, never
// waiting on the client: a write that does not fit at once is cut.
func (p *Pool) refuse(c net.Conn, why string) {
	_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, _ = c.Write(p.refusal(why))
	c.Close() // a FIN, not a reset: the client reads the 503 first
}

// guardedConn gives back what its connection took, once, when closed.
type guardedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (g *guardedConn) Close() error {
	err := g.Conn.Close()
	g.once.Do(g.release)
	return err
}

// UnsafeConn is the connection under the guard, for a hijack.
func (g *guardedConn) UnsafeConn() net.Conn { return g.Conn }

// shed records that the pool's listener could not accept for want of
// resources: the pool is shedding until an accept succeeds.
func (p *Pool) shed(err error) {
	p.acceptErrors.Add(1)
	now := time.Now().UnixNano()
	if p.sheddingSince.CompareAndSwap(0, now) {
		p.emit(Event{Type: api.EventShedding, Pool: p.Name, Reason: "accept failed: " + shortError(err) + "; retrying"})
	}
}

// accepting records a successful accept, and the end of shedding if the
// pool was.
func (p *Pool) accepting() {
	if since := p.sheddingSince.Load(); since != 0 && p.sheddingSince.CompareAndSwap(since, 0) {
		p.emit(Event{Type: api.EventAccepting, Pool: p.Name, Reason: fmt.Sprintf("accepting again after %s", time.Since(time.Unix(0, since)).Round(time.Millisecond))})
	}
}

// Shedding says since when the pool's listener has failed to accept for
// want of resources, or zero when it accepts.
func (p *Pool) Shedding() time.Time {
	if since := p.sheddingSince.Load(); since != 0 {
		return time.Unix(0, since)
	}
	return time.Time{}
}
