package lb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"statelab"
)

// serve routes one client request: pick a backend, forward, and when a
// backend cannot be reached, try another. A request the client framed
// badly never gets here: the server answers it 400 (or 431, 413) itself,
// and no backend is ever blamed for a client's fault.
func (p *Pool) serve(ctx *fasthttp.RequestCtx) {
	st := attempts.Get().(*attempt)
	defer func() { *st = attempt{}; attempts.Put(st) }()
	pinned := ""
	if p.policy.Load().name.Pins() {
		pinned = string(ctx.Request.Header.Cookie(p.cookie))
	}
	b, err := p.pick(pinned, st)
	if err != nil {
		p.noneUp.Add(1)
		p.reject(ctx, fasthttp.StatusServiceUnavailable, err)
		return
	}
	st.backend = b
	if isUpgrade(&ctx.Request) {
		p.upgrade(ctx, st)
		return
	}
	clientClose := prepareRequest(ctx, false)
	defer func() {
		if clientClose {
			ctx.Request.Header.SetConnectionClose()
		}
	}()
	p.forward(ctx, st)
}

// attempts are reused: an attempt passes through the policy's interface,
// which would put a new one on the heap for every request.
var attempts = sync.Pool{New: func() any { return new(attempt) }}

// reject answers a request the pool cannot forward, in JSON (or a short
// page when the client asked for HTML).
func (p *Pool) reject(ctx *fasthttp.RequestCtx, code int, err error) {
	ctx.Response.Reset()
	writeProblem(ctx, code, fmt.Sprintf("pool %s: %v", p.Name, err), map[string]string{"pool": p.Name})
}

// forward sends the request to the attempt's backend and puts its answer in
// ctx.Response. A request that never reached its backend is tried on
// another (and, once, on a new connection to the same backend when a
// kept-alive one turned out dead); one that may have reached it is retried
// only when it is idempotent and no answer began.
func (p *Pool) forward(ctx *fasthttp.RequestCtx, st *attempt) {
	head := ctx.IsHead()
	for {
		b := st.backend
		st.tries++
		if st.repinnedFrom != "" && st.repinnedFrom != b.Name {
			// The backend learns of the move too: a page it serves can
			// tell the person why their session may be gone.
			ctx.Request.Header.Set(statelab.RepinnedHeader, st.repinnedFrom+" -> "+b.Name)
		}
		start := time.Now()
		b.inflight.Add(1)
		c, reused, err := b.upstream.get(start)
		if err == nil {
			err = p.exchange(b.upstream, c, start, &ctx.Request, &ctx.Response, head)
		}
		b.inflight.Add(-1)
		if err == nil {
			end := time.Now()
			b.answeredAt(end)
			b.stats.observe(ctx.Response.StatusCode(), end.Sub(start))
			p.respond(ctx, b, st)
			return
		}
		ctx.Response.Reset()
		kind := classify(err)
		unsent := kind == failReset && errors.Is(err, errNotWritten)
		if reused && (unsent || kind == failReset && p.retryable(kind, &ctx.Request)) {
			// A kept-alive connection the backend had closed: the request
			// is sent again, to the same backend, on a new connection.
			st.tries--
			continue
		}
		if unsent {
			kind = failConnect // as good as never connected: another backend may take it
		}
		if kind == failClient {
			p.clientErrors.Add(1)
			p.reject(ctx, fasthttp.StatusBadRequest, err)
			return
		}
		b.stats.fail(kind)
		switch kind {
		case failConnect:
			b.unreachable(err, start)
		case failLocal:
			p.fail(ctx, b, err) // the balancer's own trouble: no backend is to blame
			return
		}
		if !p.retryable(kind, &ctx.Request) || st.tries > p.cfg.Retries {
			p.fail(ctx, b, err)
			return
		}
		if st.pinned {
			p.fail(ctx, b, fmt.Errorf("%w: %q cannot be reached and this pool is strict (%v)", errPinnedGone, b.Name, shortError(err)))
			return
		}
		next := p.another(st, b)
		if next == nil {
			p.fail(ctx, b, err)
			return
		}
		p.retries.Add(1)
		st.backend = next
	}
}

// errNotWritten marks a failure to write the request: the backend cannot
// have acted on it.
var errNotWritten = errors.New("request not written")

// errUnforwardable marks a request that cannot be written as HTTP/1.1: the
// client's fault, never the backend's.
var errUnforwardable = errors.New("the request cannot be forwarded")

// Errors of a backend's answer that say what was wrong with it.
var (
	errHeaderTooLarge = fmt.Errorf("response header over %d bytes", maxResponseHeader)
	errBodyTooLarge   = fmt.Errorf("response body over %d bytes", maxResponseBody)
)

// Limits on what a backend may send.
const (
	maxResponseHeader = 64 << 10 // bytes of a response header
	maxResponseBody   = 8 << 20  // bytes of a response body
)

// exchange writes req on c and reads the answer into resp, within the
// pool's timeout. It keeps c for the next request only when the answer
// ended exactly where its framing said and the backend did not ask to
// close: anything more on the wire (a backend that sent more than its
// Content-Length) would be read as the next request's answer, someone
// else's.
func (p *Pool) exchange(u *upstream, c *upConn, start time.Time, req *fasthttp.Request, resp *fasthttp.Response, head bool) (err error) {
	keep := false
	defer func() {
		if keep {
			c.lastUsed = start // near enough for a 90 s idle timeout
			u.put(c)
		} else {
			c.conn.Close()
		}
	}()
	// The deadline stays on the connection while it is idle: the next
	// exchange sets its own, and get peeks without it.
	_ = c.conn.SetDeadline(start.Add(p.cfg.Timeout))
	if err := req.Write(c.bw); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) {
			// fasthttp would not frame this request: the client's fault,
			// found before a byte left for the backend.
			return fmt.Errorf("%w: %w", errUnforwardable, err)
		}
		return fmt.Errorf("%w: %w", errNotWritten, err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errNotWritten, err)
	}
	resetAnswer(resp)
	resp.SkipBody = head
	br := c.br
	err = resp.ReadLimitBody(br, maxResponseBody)
	if isSmallBuffer(err) {
		// A header larger than the connection's buffer: read it again
		// through a larger one (the bytes are still buffered), once, up to
		// the limit. The connection is not kept: its buffer changed.
		br = bufio.NewReaderSize(c.br, maxResponseHeader)
		resetAnswer(resp)
		resp.SkipBody = head
		if err = resp.ReadLimitBody(br, maxResponseBody); isSmallBuffer(err) {
			return errHeaderTooLarge
		}
		if err == nil {
			return nil // answered; the connection is closed
		}
	}
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return errBodyTooLarge
	case err != nil:
		return fmt.Errorf("no answer: %w", err)
	case resp.StatusCode() == fasthttp.StatusSwitchingProtocols:
		return errUnaskedUpgrade // the request asked for no upgrade (see upgrade)
	}
	if c.br.Buffered() > 0 {
		u.strayed("after an answer")
	}
	// A connection is kept only when its answer ended exactly where its
	// framing said, and was not a 5xx: a backend that answered 503 on a
	// timeout may send the handler's own answer a moment later, which
	// the next request would take for its own.
	keep = br == c.br && c.br.Buffered() == 0 && !resp.ConnectionClose() && resp.StatusCode() < 500
	return nil
}

// isSmallBuffer reports a header larger than the buffer it was read with.
func isSmallBuffer(err error) bool {
	if err == nil {
		return false
	}
	var small *fasthttp.ErrSmallBuffer
	return errors.As(err, &small)
}

// resetAnswer empties resp for a backend's answer, which is passed on as the
// backend sent it: no Content-Type of fasthttp's own is added where it gave
// none.
func resetAnswer(resp *fasthttp.Response) {
	resp.Reset()
	resp.Header.SetNoDefaultContentType(true)
}

// errUnaskedUpgrade is a 101 to a request that asked for no upgrade.
var errUnaskedUpgrade = errors.New("the backend switched protocols unasked (101)")

// respond completes the backend's answer for the client: hop-by-hop headers
// out, the backend named, a sticky user pinned to it.
func (p *Pool) respond(ctx *fasthttp.RequestCtx, b *Backend, st *attempt) {
	prepareResponse(&ctx.Response)
	p.name(&ctx.Response.Header, b, st)
}

// name says in a response which backend answered and, when the request
// was pinned afresh, the new pin and where it moved from.
func (p *Pool) name(h *fasthttp.ResponseHeader, b *Backend, st *attempt) {
	h.Set(statelab.BackendHeader, b.Name)
	if st.setCookie {
		h.Add("Set-Cookie", b.cookie)
		if st.repinnedFrom != "" && st.repinnedFrom != b.Name {
			p.repins.Add(1)
			h.Set(statelab.RepinnedHeader, st.repinnedFrom+" -> "+b.Name)
		}
	}
}

// fail answers a request that got no usable answer: 504 when the backend
// took too long, 503 when a strict pool's pinned backend is gone or the
// balancer itself is out of resources, 502 when the backend could not be
// reached, broke the connection, or sent an answer too large or malformed.
func (p *Pool) fail(ctx *fasthttp.RequestCtx, b *Backend, err error) {
	code := fasthttp.StatusBadGateway
	switch {
	case errors.Is(err, errPinnedGone), classify(err) == failLocal:
		code = fasthttp.StatusServiceUnavailable
	case classify(err) == failTimeout:
		code = fasthttp.StatusGatewayTimeout
	}
	ctx.Response.Reset()
	ctx.Response.Header.Set(statelab.BackendHeader, b.Name)
	writeProblem(ctx, code, fmt.Sprintf("pool %s: backend %s: %s", p.Name, b.Name, errorText(err)), map[string]string{"pool": p.Name, "backend": b.Name})
}

func (p *Pool) retryable(kind failure, req *fasthttp.Request) bool {
	switch kind {
	case failConnect:
		return true
	case failReset:
		return !p.cfg.NoRetryIdempotent && idempotent(req)
	}
	return false
}

// idempotent reports whether a request may be sent twice by the balancer:
// GET, HEAD and OPTIONS only. A write with an Idempotency-Key is not: the
// key is the client's, for the client's own retry, and a server that does
// not honour keys would apply it twice.
func idempotent(r *fasthttp.Request) bool {
	switch string(r.Header.Method()) {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

type failure int

const (
	failConnect failure = iota // never reached the backend
	failTimeout                // reached it, no answer in time
	failReset                  // reached it, connection broke before an answer
	failInvalid                // an answer too large or malformed
	failLocal                  // the balancer's own trouble (out of file descriptors)
	failClient                 // the client's request could not be forwarded
	numFailures
)

func (f failure) String() string {
	return [...]string{"connect", "timeout", "reset", "invalid", "local", "client"}[f]
}

func classify(err error) failure {
	if errors.Is(err, errUnforwardable) {
		return failClient
	}
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOBUFS) {
		return failLocal
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return failConnect
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return failConnect
	}
	if errors.Is(err, errHeaderTooLarge) || errors.Is(err, errBodyTooLarge) || errors.Is(err, errUnaskedUpgrade) {
		return failInvalid
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, fasthttp.ErrTimeout) {
		return failTimeout
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return failReset
	}
	if errors.Is(err, errNotWritten) {
		return failReset
	}
	return failInvalid // the answer could not be parsed
}

func errorText(err error) string {
	if errors.Is(err, errPinnedGone) {
		return err.Error()
	}
	return shortError(err)
}

func shortError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	s := err.Error()
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
