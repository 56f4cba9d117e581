package lb

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// isUpgrade reports a request that asks to switch protocols (a WebSocket).
func isUpgrade(r *fasthttp.Request) bool {
	return r.Header.ConnectionUpgrade() && len(r.Header.Peek("Upgrade")) > 0
}

// upgrade proxies a protocol upgrade (a WebSocket): the request goes to the
// backend on a connection of its own; when the backend answers 101, the
// client's connection and the backend's are joined, byte for byte, until
// either side closes. A backend that dies takes its connections with it:
// no session design can move an open connection. Any other answer is
// passed on as a normal response.
func (p *Pool) upgrade(ctx *fasthttp.RequestCtx, st *attempt) {
	addr := clientAddress(ctx.Conn())
	if !p.upgraders.take(addr) {
		p.reject(ctx, fasthttp.StatusServiceUnavailable, fmt.Errorf("%s holds %d upgraded connections to this pool, the most one client address may", addr, p.upgraders.max))
		return
	}
	if p.upgraders.open() > p.upgradesMax {
		p.upgraders.give(addr)
		p.reject(ctx, fasthttp.StatusServiceUnavailable, fmt.Errorf("%d upgraded connections are open on this pool, its share of the balancer's %d", p.upgradesMax, p.cfg.MaxUpgrades))
		return
	}
	if !p.bl.conns.begin() {
		p.upgraders.give(addr)
		p.reject(ctx, fasthttp.StatusServiceUnavailable, fmt.Errorf("%d upgraded connections are open, the most this balancer keeps", p.cfg.MaxUpgrades))
		return
	}
	ended := false
	defer func() {
		if !ended {
			p.bl.conns.end()
			p.upgraders.give(addr)
		}
	}()
	prepareRequest(ctx, true)
	var conn net.Conn
	for {
		b := st.backend
		start := time.Now()
		c, _, err := b.upstream.dial()
		if err == nil {
			conn = c
			break
		}
		b.stats.fail(classify(err))
		if classify(err) == failLocal {
			p.fail(ctx, b, err)
			return
		}
		if classify(err) == failConnect {
			b.unreachable(err, start)
		}
		next := p.another(st, b)
		if next == nil || st.pinned || st.tries >= p.cfg.Retries {
			p.fail(ctx, b, err)
			return
		}
		st.tries++
		st.backend = next
	}
	b := st.backend
	up := &upConn{conn: conn, br: newReader(conn), bw: newWriter(conn)}
	_ = conn.SetDeadline(time.Now().Add(p.cfg.Timeout))
	resp := &ctx.Response
	err := ctx.Request.Write(up.bw)
	if err == nil {
		err = up.bw.Flush()
	}
	if err == nil {
		resetAnswer(resp)
		err = resp.Header.Read(up.br)
	}
	if err != nil {
		conn.Close()
		b.stats.fail(classify(err))
		p.fail(ctx, b, fmt.Errorf("no answer to the upgrade: %w", err))
		return
	}
	if resp.StatusCode() != fasthttp.StatusSwitchingProtocols {
		// Refused: an ordinary answer, read whole, and the connection closed.
		err := resp.ReadBody(up.br, maxResponseBody)
		conn.Close()
		if err != nil {
			p.fail(ctx, b, fmt.Errorf("no answer: %w", err))
			return
		}
		b.answered()
		p.respond(ctx, b, st)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	b.answered()
	b.stats.observe(fasthttp.StatusSwitchingProtocols, 0)
	b.upgraded.Add(1)
	p.name(&resp.Header, b, st)
	head := bytes.Clone(resp.Header.Header())
	ended = true // the hijack handler ends it
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		defer p.upgraders.give(addr)
		defer p.bl.conns.end()
		defer b.upgraded.Add(-1)
		// fasthttp's hijacked connection reads what its server had
		// buffered, but its Close does nothing: the connection under it is
		// the one to close.
		raw := client
		if u, ok := client.(interface{ UnsafeConn() net.Conn }); ok {
			raw = u.UnsafeConn()
		}
		id := p.bl.conns.add(raw, conn)
		defer p.bl.conns.remove(id)
		if _, err := client.Write(head); err != nil {
			return
		}
		join(client, raw, conn, up.br, p.cfg.UpgradeIdle, p.cfg.ClientTimeout)
	})
}

// join copies bytes both ways between a client and a backend until either
// side ends, then closes both. fromBackend holds what the backend sent
// after its 101 and is already buffered; client reads what the client sent
// after its request, and clientConn is the connection to close. Neither
// side can hold the join open: a write that waits longer than write (a
// peer that stopped reading) ends it, and so do idle without a byte
// either way.
func join(client net.Conn, clientConn, backend net.Conn, fromBackend io.Reader, idle, write time.Duration) {
	var last atomic.Int64 // unix nanos of the last byte, either way
	last.Store(time.Now().UnixNano())
	pump := func(dst net.Conn, src io.Reader, srcConn net.Conn, done chan<- struct{}) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, joinBuffer)
		for {
			_ = srcConn.SetReadDeadline(time.Now().Add(idle))
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				_ = dst.SetWriteDeadline(time.Now().Add(write))
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if isTimeout(err) && time.Since(time.Unix(0, last.Load())) < idle {
					continue // the other way is busy: not idle
				}
				return
			}
		}
	}
	done := make(chan struct{}, 2)
	go pump(backend, client, clientConn, done)
	go pump(client, fromBackend, backend, done)
	<-done
	clientConn.Close()
	backend.Close()
	<-done
}

// joinBuffer is each direction's copy buffer in a join.
const joinBuffer = 16 << 10

// upgrades counts and holds the upgraded connections, so that there are
// never more than the limit and Shutdown can close them all (the server
// does not see hijacked connections).
type upgrades struct {
	mu    sync.Mutex
	max   int
	open  int
	next  int
	conns map[int][2]net.Conn
}

func newUpgrades(max int) *upgrades { return &upgrades{max: max, conns: map[int][2]net.Conn{}} }

// begin reserves a place for one more upgraded connection.
func (u *upgrades) begin() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.open >= u.max {
		return false
	}
	u.open++
	return true
}

func (u *upgrades) end() {
	u.mu.Lock()
	u.open--
	u.mu.Unlock()
}

func (u *upgrades) add(client, backend net.Conn) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next++
	u.conns[u.next] = [2]net.Conn{client, backend}
	return u.next
}

func (u *upgrades) remove(id int) {
	u.mu.Lock()
	delete(u.conns, id)
	u.mu.Unlock()
}

// closeAll closes every upgraded connection: the balancer is shutting down.
func (u *upgrades) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, pair := range u.conns {
		pair[0].Close()
		pair[1].Close()
	}
}
