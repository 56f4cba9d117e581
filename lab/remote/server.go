// Package remote lets one process drive a lab another process runs: `lab
// up` serves its local runtime on a Unix socket (Server), and `lab run
// --up` attaches to it (Dial) and runs scenarios on it as on a runtime of
// its own. One runner at a time holds the lab (a lease, renewed while it
// runs, expiring if it dies); closing the client lets go of the lab and
// leaves it running.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
)

// LeaseTTL is how long a lease lasts without being renewed; a client
// renews it every LeaseTTL/4.
const LeaseTTL = 20 * time.Second

// maxWho bounds the name a runner attaches under.
const maxWho = 200

// maxBody bounds a request's body (the largest is SetKeys's keys).
const maxBody = 1 << 20

// ErrBusy is what Acquire and an attach get while another holds the lab.
var ErrBusy = errors.New("the lab is busy")

// Server serves a runtime to one attached runner at a time.
type Server struct {
	rt lab.Runtime

	mu      sync.Mutex
	holder  string    // who holds the lab: "" for nobody
	lease   string    // the attached client's lease id
	expires time.Time // when the lease ends unless renewed
	now     func() time.Time
	onReset func(who string, at time.Time)
	onTell  func(events json.RawMessage)
}

// OnTell has f told what the attached runner tells of its run (its
// events, as JSON): lab up's live page shows the run from them.
func (s *Server) OnTell(f func(events json.RawMessage)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onTell = f
}

// OnReset has f told when an attached runner (who) resets the lab: the
// server's own pages may be showing what the reset undid.
func (s *Server) OnReset(f func(who string, at time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onReset = f
}

// NewServer serves rt. Close is never forwarded: the lab stays the
// server's.
func NewServer(rt lab.Runtime) *Server { return &Server{rt: rt, now: time.Now} }

// Acquire takes the lab for the server's own use (a scenario typed at lab
// up's prompt) unless a runner holds it.
func (s *Server) Acquire(who string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.busyLocked(); err != nil {
		return nil, err
	}
	s.holder = who
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.lease == "" {
			s.holder = ""
		}
	}, nil
}

// Holder says who holds the lab now ("" for nobody).
func (s *Server) Holder() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	return s.holder
}

func (s *Server) expireLocked() {
	if s.lease != "" && s.now().After(s.expires) {
		s.holder, s.lease = "", ""
	}
}

func (s *Server) busyLocked() error {
	s.expireLocked()
	if s.holder != "" {
		return fmt.Errorf("%w: %s holds it", ErrBusy, s.holder)
	}
	return nil
}

// Handler is the API: POST /attach {"who": ...} returns a lease; every
// other call carries it in X-Statelab-Lease. Errors are JSON {"error"}.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /attach", s.attach)
	mux.HandleFunc("POST /{op}", s.call)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, nil, fmt.Errorf("no such call: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type attachRequest struct {
	Who string `json:"who"`
}

// Attached is the answer to an attach: the lease, and what never changes
// while the lab runs.
type Attached struct {
	Lease     string                        `json:"lease"`
	Describe  string                        `json:"describe"`
	Endpoints lab.Endpoints                 `json:"endpoints"`
	Instances map[statelab.Variant][]string `json:"instances"`
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	var req attachRequest
	if err := decode(r, &req); err != nil {
		reply(w, http.StatusBadRequest, nil, err)
		return
	}
	if req.Who == "" || len(req.Who) > maxWho {
		reply(w, http.StatusBadRequest, nil, fmt.Errorf("attach: say who attaches (1 to %d bytes)", maxWho))
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.mu.Lock()
	if err := s.busyLocked(); err != nil {
		s.mu.Unlock()
		reply(w, http.StatusConflict, nil, err)
		return
	}
	s.holder, s.lease, s.expires = req.Who, hex.EncodeToString(b), s.now().Add(LeaseTTL)
	a := Attached{Lease: s.lease, Describe: s.rt.Endpoints().About, Endpoints: s.rt.Endpoints(), Instances: map[statelab.Variant][]string{}}
	s.mu.Unlock()
	for _, v := range statelab.Variants {
		a.Instances[v] = s.rt.Instances(v)
	}
	reply(w, http.StatusOK, a, nil)
}

// args is every call's body; each call reads the fields it needs.
type args struct {
	Name     string        `json:"name,omitempty"`
	Variant  string        `json:"variant,omitempty"`
	Settings lab.Settings  `json:"settings"`
	Keys     statelab.Keys `json:"keys"`
	Persist  bool          `json:"persist,omitempty"`
	Latency  time.Duration `json:"latency,omitempty"`
	// Events is what tell carries: the run's events, for lab up's page.
	Events json.RawMessage `json:"events,omitempty"`
}

// result is every call's answer.
type result struct {
	Addr  string `json:"addr,omitempty"`
	URL   string `json:"url,omitempty"`
	Sent  int64  `json:"sent,omitempty"`
	Keys  int64  `json:"keys,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
	Error string `json:"error,omitempty"`
}

func (s *Server) call(w http.ResponseWriter, r *http.Request) {
	op := r.PathValue("op")
	s.mu.Lock()
	s.expireLocked()
	lease := r.Header.Get("X-Statelab-Lease")
	if s.lease == "" || lease != s.lease {
		s.mu.Unlock()
		reply(w, http.StatusConflict, nil, errors.New("this runner does not hold the lab (never attached, detached, or its lease expired)"))
		return
	}
	s.expires = s.now().Add(LeaseTTL)
	s.mu.Unlock()
	var a args
	if err := decode(r, &a); err != nil {
		reply(w, http.StatusBadRequest, nil, err)
		return
	}
	if _, known := calls[op]; !known && op != "renew" && op != "detach" && op != "tell" {
		reply(w, http.StatusNotFound, nil, fmt.Errorf("no such call: %s", op))
		return
	}
	if err := a.check(op); err != nil {
		reply(w, http.StatusBadRequest, nil, err)
		return
	}
	// A call runs to its end even when the runner goes away meanwhile: an
	// instance half started would be left dead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), callLimit)
	defer cancel()
	var res result
	var err error
	switch op {
	case "renew":
	case "tell":
		s.mu.Lock()
		told := s.onTell
		s.mu.Unlock()
		if told != nil && len(a.Events) > 0 {
			told(a.Events)
		}
	case "detach":
		s.mu.Lock()
		s.holder, s.lease = "", ""
		s.mu.Unlock()
	default:
		res, err = calls[op].run(ctx, s.rt, a)
	}
	if err != nil {
		// The runtime's own error: the call was understood and failed.
		reply(w, http.StatusUnprocessableEntity, nil, err)
		return
	}
	if op == "reset" {
		s.mu.Lock()
		told, who := s.onReset, s.holder
		s.mu.Unlock()
		if told != nil {
			told(who, s.now())
		}
	}
	reply(w, http.StatusOK, res, nil)
}

// callLimit bounds one runtime call (a reset restarts every instance).
const callLimit = 2 * time.Minute

// validName is an instance name as the lab makes them: memory-2,
// redis-new; nothing that could reach outside the lab's directory.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// check refuses a name or variant no instance of the lab could have.
func (a args) check(op string) error {
	if calls[op].instance && !validName.MatchString(a.Name) {
		return fmt.Errorf("%s: %q is not an instance name (like memory-2)", op, abbreviate(a.Name))
	}
	if op == "add" {
		if _, err := statelab.ParseVariant(abbreviate(a.Variant)); err != nil {
			return fmt.Errorf("add: %w", err)
		}
	}
	return nil
}

func abbreviate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	if len(body) > maxBody {
		return fmt.Errorf("a request over %d bytes", maxBody)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	return nil
}

func reply(w http.ResponseWriter, code int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err != nil {
		v = result{Error: err.Error()}
	}
	_ = json.NewEncoder(w).Encode(v)
}
