package lb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"statelab"
)

// ServeHTTP routes one client request: pick a backend, forward, and when a
// backend cannot be reached, try another.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var st attempt
	pinned := ""
	if c, err := r.Cookie(p.cookie); err == nil {
		pinned = c.Value
	}
	b, err := p.pick(pinned, &st)
	if err != nil {
		p.noneUp.Add(1)
		p.reject(w, http.StatusServiceUnavailable, err)
		return
	}
	if r.Header.Get("Upgrade") != "" {
		p.reject(w, http.StatusNotImplemented, errors.New("protocol upgrades (websockets) are not supported"))
		return
	}
	st.backend = b
	b.inflight.Add(1)
	p.forward(w, r, &st)
	st.backend.inflight.Add(-1)
}

// reject answers a request the pool cannot forward.
func (p *Pool) reject(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("pool %s: %v", p.Name, err), "pool": p.Name})
}

// forward sends the request to the attempt's backend and copies the answer
// back. It writes the request and reads the answer on a kept-alive
// connection from the request's own goroutine, with the standard library's
// HTTP/1.1 framing (Request.Write, ReadResponse).
func (p *Pool) forward(w http.ResponseWriter, r *http.Request, st *attempt) {
	ctx := r.Context()
	prepareHeaders(r)
	out := &http.Request{
		Method:        r.Method,
		URL:           r.URL,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.Header,
		ContentLength: r.ContentLength,
		Host:          r.Host,
	}
	// A small body is read in full first, as nginx does, so that it can be
	// sent again when a connection turns out to be dead; a large or
	// unbounded one streams through a guard that says whether any of it left.
	var guard *readGuard
	var body []byte
	switch {
	case r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0:
	case r.ContentLength > 0 && r.ContentLength <= maxBufferedBody:
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			p.reject(w, http.StatusBadRequest, fmt.Errorf("reading the request body: %v", err))
			return
		}
	default:
		guard = &readGuard{r: r.Body, left: r.ContentLength}
		out.Body = guard
		if r.ContentLength < 0 {
			out.TransferEncoding = []string{"chunked"}
		}
	}
	for {
		b := st.backend
		st.tries++
		if body != nil {
			out.Body = &replay{b: body}
		}
		start := time.Now()
		resp, c, reused, err := p.exchange(ctx, b, out)
		if err == nil {
			b.answered()
			b.stats.observe(resp.StatusCode, time.Since(start))
			p.respond(w, resp, c, b, st, out)
			return
		}
		kind := classify(err, ctx)
		if kind == failCanceled {
			return // the client went away; nobody is listening for an answer
		}
		// Did the whole request never reach the backend? Then it cannot
		// have acted on it, and it can be sent again if its body can.
		unsent := kind == failReset && errors.Is(err, errNotWritten) && (guard == nil || guard.n.Load() == 0)
		if reused && (unsent || kind == failReset && p.retryable(kind, out, guard)) {
			// A kept-alive connection the backend had closed: the request
			// is sent again, to the same backend, on a new connection.
			// Like http.Transport, only when that is safe.
			st.tries--
			continue
		}
		if unsent {
			kind = failConnect // as good as never connected: another backend may take it
		}
		b.stats.fail(kind)
		if kind == failConnect {
			b.setHealth(false, "passive: "+shortError(err))
		}
		if !p.retryable(kind, out, guard) || st.tries > p.cfg.Retries {
			p.fail(w, b, err)
			return
		}
		if st.pinned {
			p.fail(w, b, fmt.Errorf("%w: %q cannot be reached and this pool is strict (%v)", errPinnedGone, b.Name, shortError(err)))
			return
		}
		next := p.another(st, b)
		if next == nil {
			p.fail(w, b, err)
			return
		}
		p.retries.Add(1)
		b.inflight.Add(-1)
		next.inflight.Add(1)
		st.backend = next
	}
}

// errNotWritten marks a failure to write the request: the backend cannot
// have acted on it.
var errNotWritten = errors.New("request not written")

// exchange writes the request on a connection to b and reads the response
// headers, within the pool's timeout. On success the caller owns c and must
// release it after the body.
func (p *Pool) exchange(ctx context.Context, b *Backend, out *http.Request) (*http.Response, *upConn, bool, error) {
	c, reused, err := b.upstream.get(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	since := c.lastUsed
	_ = c.conn.SetDeadline(time.Now().Add(p.cfg.Timeout))
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	werr := out.Write(c.bw)
	if werr == nil {
		werr = c.bw.Flush()
	}
	if werr != nil {
		stop()
		c.conn.Close()
		return nil, nil, reused, fmt.Errorf("%w%s: %w", errNotWritten, connAge(reused, since), werr)
	}
	resp, err := http.ReadResponse(c.br, out)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 {
		resp, err = http.ReadResponse(c.br, out) // informational: the final answer follows
	}
	if err != nil {
		stop()
		c.conn.Close()
		return nil, nil, reused, fmt.Errorf("no answer%s: %w", connAge(reused, since), err)
	}
	if !stop() {
		c.conn.Close() // the client went away while the headers came
		resp.Body.Close()
		return nil, nil, reused, context.Canceled
	}
	return resp, c, reused, nil
}

// connAge says, for error messages, which connection a failure was on.
func connAge(reused bool, since time.Time) string {
	if !reused {
		return " on a new connection"
	}
	return fmt.Sprintf(" on a kept-alive connection idle for %s", time.Since(since).Round(time.Millisecond))
}

// respond copies the backend's answer to the client, naming the backend
// and pinning a sticky user to it, and keeps the connection when the
// exchange ended cleanly.
func (p *Pool) respond(w http.ResponseWriter, resp *http.Response, c *upConn, b *Backend, st *attempt, out *http.Request) {
	h := w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	removeHopHeaders(h)
	h[statelab.BackendHeader] = b.header
	if st.setCookie {
		h["Set-Cookie"] = append(h["Set-Cookie"], b.cookie[0])
		if st.repinnedFrom != "" && st.repinnedFrom != b.Name {
			p.repins.Add(1)
			h.Set(statelab.RepinnedHeader, st.repinnedFrom+" -> "+b.Name)
		}
	}
	w.WriteHeader(resp.StatusCode)

	var rc *http.ResponseController
	if resp.ContentLength < 0 { // streamed: pass each piece on at once
		rc = http.NewResponseController(w)
	}
	bufp := buffers.Get().(*[]byte)
	defer buffers.Put(bufp)
	buf := *bufp
	var readErr, writeErr error
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(p.cfg.Timeout))
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				writeErr = werr
				break
			}
			if rc != nil {
				_ = rc.Flush()
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
	}
	resp.Body.Close()
	if readErr == nil && writeErr == nil && !resp.Close && !out.Close {
		_ = c.conn.SetDeadline(time.Time{})
		b.upstream.put(c)
	} else {
		c.conn.Close()
	}
	if readErr != nil {
		b.stats.fail(failReset)
		// The status line is out: all that is left is to cut the client
		// off, so that it cannot take a partial body for a whole one.
		panic(http.ErrAbortHandler)
	}
}

// fail answers a request that got no response: 504 when the backend took
// too long, 503 when a strict pool's pinned backend is gone, 502 when it
// could not be reached or broke the connection.
func (p *Pool) fail(w http.ResponseWriter, b *Backend, err error) {
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, errPinnedGone):
		code = http.StatusServiceUnavailable
	case classify(err, context.Background()) == failTimeout:
		code = http.StatusGatewayTimeout
	}
	w.Header()[statelab.BackendHeader] = b.header
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error":   fmt.Sprintf("pool %s: backend %s: %s", p.Name, b.Name, errorText(err)),
		"pool":    p.Name,
		"backend": b.Name,
	})
}

func (p *Pool) retryable(kind failure, req *http.Request, guard *readGuard) bool {
	if guard != nil && guard.n.Load() > 0 {
		return false // part of the body is gone: it cannot be sent again
	}
	switch kind {
	case failConnect:
		return true
	case failReset:
		return !p.cfg.NoRetryIdempotent && idempotent(req)
	}
	return false
}

func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return r.Header.Get("Idempotency-Key") != ""
}

type failure int

const (
	failConnect failure = iota // never reached the backend
	failTimeout                // reached it, no answer in time
	failReset                  // reached it, connection broke before an answer
	failCanceled
	numFailures
)

func (f failure) String() string {
	return [...]string{"connect", "timeout", "reset", "canceled"}[f]
}

func classify(err error, ctx context.Context) failure {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return failConnect
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return failConnect
	}
	if ctx.Err() != nil {
		return failCanceled
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return failTimeout
	}
	return failReset
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
	return err.Error()
}
