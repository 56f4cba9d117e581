// Package delay is a TCP proxy that adds latency: every byte the target
// sends back reaches the client a set time later, so each request and
// answer of a protocol like Redis's costs that much more. The lab puts it
// between the instances and Redis to show what a slow shared store costs,
// and to whom.
//
// The delay can be changed while connections are open, and read or set
// over a small HTTP control API (see Control) when the proxy runs as its
// own process or container (lab delay).
package delay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDelay is the longest delay a proxy takes.
const MaxDelay = 10 * time.Second

// MaxConns is how many client connections a proxy carries at once; one
// more is closed at once.
const MaxConns = 1024

// readSize is the most one read takes; what is held back is kept in
// buffers of the size read, so a connection holds at most chunks of them.
const readSize = 16 << 10

// chunks bounds the reads of one connection held back at once: past it,
// the proxy stops reading until the oldest is sent, so each direction of
// a connection holds at most chunks × readSize (256 KiB), and the kernel's
// buffers hold the rest back from the sender. Redis's traffic is small:
// a delay never needs more.
const chunks = 16

// Proxy forwards connections from its listener to a target.
type Proxy struct {
	target string
	ln     net.Listener
	delay  atomic.Int64 // nanoseconds
	sent   atomic.Int64 // bytes clients sent to the target
	drop   atomic.Bool  // answers are dropped (Drop)
	stall  atomic.Bool  // answers are held back (Stall)
	cuts   atomic.Int64 // Cut calls: a held answer of an earlier one is dropped
	stuck  atomic.Int64 // connections whose next answer a stall holds back now
	reset  atomic.Int64 // connections reset by Drop

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	clients int  // client connections open
	held    bool // every new connection is closed at once (Hold)
	wg      sync.WaitGroup
	done    bool
}

// Listen starts a proxy on addr (":0" picks a port) to target.
func Listen(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is where connections go.
func (p *Proxy) Target() string { return p.target }

// Delay is the latency added now.
func (p *Proxy) Delay() time.Duration { return time.Duration(p.delay.Load()) }

// SetDelay sets the latency added to what the target sends, from now on
// (bytes already held back keep theirs).
func (p *Proxy) SetDelay(d time.Duration) error {
	if d < 0 || d > MaxDelay {
		return fmt.Errorf("delay %s out of range: want 0 to %s", d, MaxDelay)
	}
	p.delay.Store(int64(d))
	return nil
}

// Sent counts the bytes clients have sent the target through the proxy:
// zero while measured means nothing asked the target anything.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

// Cut closes every open connection, as a target that went away would; new
// ones are still accepted.
func (p *Proxy) Cut() {
	p.cuts.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Hold, on, cuts every connection and closes each new one at once, as a
// stopped server's port does to its clients; off, connections pass again.
func (p *Proxy) Hold(on bool) {
	p.mu.Lock()
	p.held = on
	p.mu.Unlock()
	if on {
		p.Cut()
	}
}

// Drop, on, drops every answer: when the target starts to send on a
// connection, the proxy resets the client's side (RST) and closes the
// target's, so that what the target did (a write it applied) happens and
// its answer never arrives, as on a network that fails at that moment.
// Off, answers pass again.
func (p *Proxy) Drop(on bool) { p.drop.Store(on) }

// Stall, on, holds back every answer that has not reached its client yet,
// and every later one, as a link that stops carrying bytes does; off,
// what was held goes on, in order. A Cut while stalled drops what was
// held, as a link that dies with its sender: the client never sees it.
// The kernel's buffers hold back what the proxy no longer reads (see
// chunks), so a stall costs the proxy no more than a delay does.
func (p *Proxy) Stall(on bool) { p.stall.Store(on) }

// Holding counts the connections whose next answer a stall holds back
// now: an answer has arrived from the target and waits for the stall to
// end.
func (p *Proxy) Holding() int64 { return p.stuck.Load() }

// Stalled reports whether the proxy holds answers back.
func (p *Proxy) Stalled() bool { return p.stall.Load() }

// Dropped counts the connections Drop reset.
func (p *Proxy) Dropped() int64 { return p.reset.Load() }

// Close stops accepting, closes every connection and waits for them.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

// track records an open connection; a client's counts against MaxConns.
func (p *Proxy) track(c net.Conn, client bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || client && (p.clients >= MaxConns || p.held) {
		return false
	}
	p.conns[c] = struct{}{}
	if client {
		p.clients++
	}
	return true
}

func (p *Proxy) untrack(c net.Conn, client bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	if client {
		p.clients--
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: let it pass
			continue
		}
		if !p.track(c, true) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client, true)
	defer client.Close()
	target, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	if !p.track(target, false) {
		target.Close()
		return
	}
	defer p.untrack(target, false)
	defer target.Close()
	var both sync.WaitGroup
	both.Add(2)
	go func() { // client to target, as it comes
		defer both.Done()
		io.Copy(target, counting{client, &p.sent})
		target.Close()
	}()
	go func() { // target to client, held back by the delay
		defer both.Done()
		p.late(client, target)
		client.Close()
	}()
	both.Wait()
}

// counting is a reader that counts what it reads.
type counting struct {
	r io.Reader
	n *atomic.Int64
}

func (c counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// stallPoll is how often a stalled connection looks whether the stall is
// over.
const stallPoll = 2 * time.Millisecond

type chunk struct {
	at   time.Time
	data []byte
}

// late copies from src to dst, each read written Delay after it arrived.
func (p *Proxy) late(dst, src net.Conn) {
	queue := make(chan chunk, chunks)
	go func() {
		defer close(queue)
		buf := make([]byte, readSize)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{at: time.Now().Add(p.Delay()), data: append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				return
			}
		}
	}()
	cuts := p.cuts.Load()
	for c := range queue {
		if wait := time.Until(c.at); wait > 0 {
			time.Sleep(wait)
		}
		if p.stall.Load() {
			p.stuck.Add(1)
			for p.stall.Load() && p.cuts.Load() == cuts {
				time.Sleep(stallPoll)
			}
			p.stuck.Add(-1)
		}
		if p.cuts.Load() != cuts {
			// Cut while this was held back: the link died with it.
			src.Close()
			for range queue {
			}
			return
		}
		if p.drop.Load() {
			p.reset.Add(1)
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.SetLinger(0) // a reset, not an orderly end
			}
			dst.Close()
			src.Close()
			for range queue { // let the reader end
			}
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			src.Close()
			for range queue { // let the reader end
			}
			return
		}
	}
}
