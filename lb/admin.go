package lb

import (
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strconv"
	"strings"
	"time"

	"statelab/lb/api"
)

// AdminOptions protect the admin API.
type AdminOptions struct {
	// Token, when set, is required of every request except the status
	// page itself, as "Authorization: Bearer TOKEN" (never Basic auth: a
	// browser would attach it to a cross-site form by itself). At least
	// MinTokenLen bytes.
	Token string
	// Hosts are the host names (without port) the API answers to, besides
	// the loopback names: a request naming another Host is refused (403),
	// which stops DNS rebinding. In the workshop stack, "lb".
	Hosts []string
}

// MinTokenLen is the shortest admin token accepted.
const MinTokenLen = 16

// Admin returns the admin API handler. Every request must name an allowed
// Host and, when it carries an Origin, come from an allowed one. With a
// token, every request but the status page must carry it. Without one (on
// loopback only: lab lb refuses otherwise), a request that changes
// anything must still be one a page on another site cannot send without
// the balancer's consent: with a JSON Content-Type, or the header
// X-Statelab-Admin.
func (bl *Balancer) Admin(opts AdminOptions) (http.Handler, error) {
	if opts.Token != "" && len(opts.Token) < MinTokenLen {
		return nil, fmt.Errorf("the admin token is %d bytes: want at least %d", len(opts.Token), MinTokenLen)
	}
	hosts := map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}
	for _, h := range opts.Hosts {
		if h = strings.TrimSpace(h); h != "" {
			hosts[strings.ToLower(h)] = true
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/pools", bl.listPools)
	mux.HandleFunc("GET /api/pools/{pool}", bl.withPool(bl.getPool))
	mux.HandleFunc("PUT /api/pools/{pool}/policy", bl.withPool(bl.putPolicy))
	mux.HandleFunc("POST /api/pools/{pool}/backends", bl.withPool(bl.addBackend))
	mux.HandleFunc("DELETE /api/pools/{pool}/backends/{name}", bl.withPool(bl.removeBackend))
	mux.HandleFunc("POST /api/pools/{pool}/backends/{name}/{action}", bl.withPool(bl.backendAction))
	mux.HandleFunc("GET /api/events", bl.streamEvents)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bl.writeMetrics(w)
	})
	mux.HandleFunc("GET /{$}", statusPage)
	// Profiles of the balancer itself, behind the same token.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such admin endpoint: %s %s", r.Method, r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		if !hosts[hostname(r.Host)] {
			writeError(w, http.StatusForbidden, "this admin API does not answer to Host %q (allowed: loopback names and --admin-hosts)", abbreviate(r.Host, 64))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !hosts[originHost(o)] {
			writeError(w, http.StatusForbidden, "requests from another site's page are refused (Origin %q)", abbreviate(o, 64))
			return
		}
		statusPage := r.Method == http.MethodGet && r.URL.Path == "/"
		switch {
		case opts.Token != "" && !statusPage && !authorized(r, opts.Token):
			writeError(w, http.StatusUnauthorized, "the admin API needs Authorization: Bearer <STATELAB_ADMIN_TOKEN>")
			return
		case opts.Token == "" && changes(r) && !nonSimple(r):
			writeError(w, http.StatusForbidden, "a request that changes the balancer needs Content-Type: application/json or the header X-Statelab-Admin (a page on another site can send neither without consent)")
			return
		}
		// The mux answers a known path with the wrong method with a plain
		// text 405; answer it in JSON like everything else.
		if _, pattern := mux.Handler(r); pattern == "/" && knownPath(r.URL.Path) {
			writeError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// changes reports a request that may change the balancer's state.
func changes(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
}

// nonSimple reports a request a browser sends cross-site only after a
// preflight the API never grants: a JSON body, or a custom header.
func nonSimple(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/json") || r.Header.Get("X-Statelab-Admin") != ""
}

// hostname is a Host header's name, without its port, lower case.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

// originHost is the host name of an Origin header ("null" matches nothing).
func originHost(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return ""
	}
	return hostname(u.Host)
}

// abbreviate quotes at most n bytes of what a client sent.
func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func knownPath(p string) bool {
	return p == "/api/pools" || p == "/api/events" || p == "/metrics" || strings.HasPrefix(p, "/api/pools/") || strings.HasPrefix(p, "/debug/pprof/")
}

func authorized(r *http.Request, token string) bool {
	scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(v)), []byte(token)) == 1
}

// IsLoopback reports whether a listen address only accepts local connections.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, api.AdminError{Error: fmt.Sprintf(format, args...)})
}

func (bl *Balancer) withPool(h func(http.ResponseWriter, *http.Request, *Pool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := bl.Pool(r.PathValue("pool"))
		if p == nil {
			writeError(w, http.StatusNotFound, "no pool %q (pools: %s)", r.PathValue("pool"), strings.Join(bl.poolNames(), ", "))
			return
		}
		h(w, r, p)
	}
}

func (bl *Balancer) poolNames() []string {
	var names []string
	for _, p := range bl.pools {
		names = append(names, p.Name)
	}
	return names
}

func (bl *Balancer) listPools(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, bl.Status())
}

func (bl *Balancer) getPool(w http.ResponseWriter, _ *http.Request, p *Pool) {
	writeJSON(w, http.StatusOK, p.Status())
}

// decodeJSON reads a small JSON object, refusing unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		writeError(w, http.StatusBadRequest, "bad JSON: %v", err)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad JSON: trailing data")
		return false
	}
	return true
}

func (bl *Balancer) putPolicy(w http.ResponseWriter, r *http.Request, p *Pool) {
	var req api.PolicyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := p.SetPolicy(req.Policy, req.Strict); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, p.Status())
}

func (bl *Balancer) addBackend(w http.ResponseWriter, r *http.Request, p *Pool) {
	var req api.BackendRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	b, err := p.Add(req.Name, req.Addr)
	switch {
	case errors.Is(err, ErrExists):
		writeError(w, http.StatusConflict, "pool %s: %v", p.Name, err)
	case err != nil:
		writeError(w, http.StatusBadRequest, "pool %s: %v", p.Name, err)
	default:
		writeJSON(w, http.StatusCreated, b.status())
	}
}

func (bl *Balancer) removeBackend(w http.ResponseWriter, r *http.Request, p *Pool) {
	if err := p.Remove(r.PathValue("name")); err != nil {
		writeError(w, http.StatusNotFound, "pool %s: %v", p.Name, err)
		return
	}
	writeJSON(w, http.StatusOK, p.Status())
}

func (bl *Balancer) backendAction(w http.ResponseWriter, r *http.Request, p *Pool) {
	b := p.Backend(r.PathValue("name"))
	if b == nil {
		writeError(w, http.StatusNotFound, "pool %s has no backend %q", p.Name, r.PathValue("name"))
		return
	}
	if err := b.Do(Action(r.PathValue("action"))); err != nil {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, b.status())
}

// streamEvents serves GET /api/events as server-sent events. It first sends
// the kept events newer than the Last-Event-ID header (or ?since=ID; all kept
// events with ?since=0), then every new one as it happens.
func (bl *Balancer) streamEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	since := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("since")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "since %q: want an event id", v)
			return
		}
		since = n
	}
	c, at, cancel := bl.events.subscribe()
	defer cancel()
	// A stream lasts: each write gets its own deadline instead of the
	// server's, so that a subscriber that stops reading is cut off.
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	w.WriteHeader(http.StatusOK)
	// ": at ID EPOCH": the last event before this stream, for a client that
	// asked for new events only and must resume from there, and this
	// balancer's numbering of events (another process numbers from 1).
	fmt.Fprintf(w, "retry: 1000\n: at %d %s\n\n", at, bl.events.epoch)
	last := since
	if since >= 0 {
		for _, ev := range bl.events.since(since) {
			writeEvent(w, ev)
			last = ev.ID
		}
	}
	flusher.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-c:
			if !ok {
				return
			}
			if ev.ID <= last {
				continue // already sent from the kept events
			}
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			writeEvent(w, ev)
			if flusher.Flush(); r.Context().Err() != nil {
				return
			}
		case <-keepalive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		}
	}
}

func writeEvent(w io.Writer, ev Event) {
	b, _ := json.Marshal(ev)
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b)
}

// Status returns every pool's status.
func (bl *Balancer) Status() Status {
	st := Status{Health: api.HealthSettings{
		Path:           bl.cfg.HealthPath,
		IntervalSecond: bl.cfg.HealthInterval.Seconds(),
		TimeoutSeconds: bl.cfg.HealthTimeout.Seconds(),
		Rise:           bl.cfg.Rise,
		Fall:           bl.cfg.Fall,
	}, Policies: api.PolicyInfos()}
	for _, p := range bl.pools {
		st.Pools = append(st.Pools, p.Status())
	}
	return st
}
