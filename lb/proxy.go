package lb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// ServeHTTP routes one client request: pick a backend, proxy, and on a
// connect failure try another.
func (p *Pool) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &attempt{start: time.Now().UnixNano()}
	b, err := p.pick(r, st)
	if err != nil {
		p.noneUp.Add(1)
		p.reject(w, err)
		return
	}
	st.backend = b
	b.inflight.Add(1)
	p.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), attemptKey{}, st)))
	st.backend.inflight.Add(-1)
}

// reject answers a request no backend can take.
func (p *Pool) reject(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("pool %s: %v", p.Name, err), "pool": p.Name})
}

// RoundTrip sends the request to the attempt's backend; when that backend
// cannot be reached (or, for a request that is safe to repeat, fails before
// any response) it marks what it learned and tries another one.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	st := attemptFrom(req.Context())
	if st == nil {
		return nil, errors.New("lb: request without routing state")
	}
	var guard *readGuard
	if req.Body != nil && req.Body != http.NoBody {
		guard = &readGuard{r: req.Body, left: req.ContentLength}
		req.Body = guard
	}
	for {
		b := st.backend
		st.tries++
		start := time.Now()
		resp, err := b.transport.RoundTrip(req)
		if err == nil {
			b.answered()
			b.stats.observe(resp.StatusCode, time.Since(start))
			return resp, nil
		}
		kind := classify(err, req.Context())
		b.stats.fail(kind)
		if kind == failConnect {
			b.setHealth(false, "passive: "+shortError(err))
		}
		if !p.retryable(kind, req, guard) || st.tries > p.cfg.Retries {
			return nil, err
		}
		if st.pinned {
			return nil, fmt.Errorf("%w: %q cannot be reached and this pool is strict (%v)", errPinnedGone, b.Name, shortError(err))
		}
		next := p.another(st, b)
		if next == nil {
			return nil, err
		}
		p.retries.Add(1)
		b.inflight.Add(-1)
		next.inflight.Add(1)
		st.backend = next
	}
}

// another picks a different backend for a retry, by the pool's policy. A
// sticky user being retried is re-pinned to where the retry lands.
func (p *Pool) another(st *attempt, failed *Backend) *Backend {
	list := p.Backends()
	var b *Backend
	if p.policy.Load().name == LeastConn {
		b = p.leastConn(list, failed)
	} else {
		b = p.roundRobin(list, failed)
	}
	if b != nil && p.policy.Load().name == Sticky {
		if !st.setCookie {
			st.repinnedFrom = failed.Name
		}
		st.setCookie = true
	}
	return b
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

// modifyResponse pins a sticky user to the backend that answered and names
// that backend.
func (p *Pool) modifyResponse(resp *http.Response) error {
	st := attemptFrom(resp.Request.Context())
	if st == nil {
		return nil
	}
	b := st.backend
	resp.Header[BackendHeader] = b.header
	if st.setCookie {
		resp.Header["Set-Cookie"] = append(resp.Header["Set-Cookie"], b.cookie[0])
		if st.repinnedFrom != "" && st.repinnedFrom != b.Name {
			p.repins.Add(1)
			resp.Header.Set(RepinnedHeader, st.repinnedFrom+" -> "+b.Name)
		}
	}
	return nil
}

// proxyError answers a request that got no response: 504 when the backend
// took too long, 502 when it could not be reached or broke the connection.
func (p *Pool) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return // the client went away; nobody is listening for an answer
	}
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, errPinnedGone):
		code = http.StatusServiceUnavailable
	case classify(err, r.Context()) == failTimeout:
		code = http.StatusGatewayTimeout
	}
	name := ""
	if st := attemptFrom(r.Context()); st != nil {
		name = st.backend.Name
		w.Header()[BackendHeader] = st.backend.header
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error":   fmt.Sprintf("pool %s: backend %s: %s", p.Name, name, errorText(err)),
		"pool":    p.Name,
		"backend": name,
	})
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

// readGuard sits between the transport and the client's request body. It
// counts what the transport read, so that a body nobody read can be sent
// again; it ignores the transport's Close; and, when the length is known, it
// answers EOF itself after that many bytes.
//
// The last part matters: after sending Content-Length bytes, the transport
// reads once more to check the body has ended. If the backend has already
// answered, the proxy may have started the response, and the server has
// then closed the client's request body: that extra read fails, the
// transport tears down the backend connection, and the response being
// copied is cut short. Seen in the cost scenario, about once in 3,000
// POSTs with 8 KB answers.
type readGuard struct {
	r    io.ReadCloser
	n    atomic.Int64
	left int64 // bytes still to deliver; -1 when the length is unknown
}

func (g *readGuard) Read(b []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if g.left > 0 && int64(len(b)) > g.left {
		b = b[:g.left]
	}
	n, err := g.r.Read(b)
	g.n.Add(int64(n))
	if g.left > 0 {
		g.left -= int64(n)
		if g.left == 0 && err == nil {
			err = io.EOF
		}
	}
	return n, err
}

func (g *readGuard) Close() error { return nil }
