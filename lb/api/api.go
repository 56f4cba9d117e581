// Package api is the balancer's admin API as its clients see it: the
// states of a backend, the policies' names and what each does, the
// actions, the events, the JSON bodies, and a Client. It has no part of
// the proxy (package lb), so that a program that only talks to a balancer
// (the scenarios, lab watch, the runtimes) does not pull the proxy in.
package api

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy names how a pool picks a backend for a request.
type Policy string

// The policies, one file each.
const (
	RoundRobin Policy = "round-robin" // roundrobin.go
	LeastConn  Policy = "least-conn"  // leastconn.go
	Sticky     Policy = "sticky"      // sticky.go
)

// Policies lists the policies a pool accepts, in the order help texts give
// them.
var Policies = []Policy{RoundRobin, LeastConn, Sticky}

// ParsePolicy checks that s names a policy.
func ParsePolicy(s string) (Policy, error) {
	if slices.Contains(Policies, Policy(s)) {
		return Policy(s), nil
	}
	names := make([]string, len(Policies))
	for i, p := range Policies {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown policy %q (want %s)", s, strings.Join(names, ", "))
}

// Pins says the policy pins each user to a backend with a cookie: the
// only one that does, and the only one a strict setting changes.
func (p Policy) Pins() bool { return p == Sticky }

// PolicyInfo describes a policy setting, as pages and lab watch show it.
type PolicyInfo struct {
	Policy Policy `json:"policy"`
	Strict bool   `json:"strict"`
	// Label names the setting in a menu; Says what it does to a user.
	Label string `json:"label"`
	Says  string `json:"says"`
}

// PolicyInfos lists every setting a pool accepts: each policy, and a
// pinning one strict too.
func PolicyInfos() []PolicyInfo {
	var out []PolicyInfo
	for _, p := range Policies {
		out = append(out, Describe(p, false))
		if p.Pins() {
			out = append(out, Describe(p, true))
		}
	}
	return out
}

// Describe says what a policy setting does.
func Describe(p Policy, strict bool) PolicyInfo {
	in := PolicyInfo{Policy: p, Strict: strict && p.Pins(), Label: string(p)}
	switch {
	case p.Pins() && in.Strict:
		in.Label += " (strict)"
		in.Says = "strict: a user whose pinned backend is gone gets 503"
	case p.Pins():
		in.Says = "a user whose pinned backend is gone is pinned to another"
	case p == LeastConn:
		in.Says = "each request goes to the backend with the fewest requests in flight"
	default:
		in.Says = "each request goes to the next backend in turn"
	}
	return in
}

// State is how a backend is, as the admin API shows it: its health, unless
// an action of the admin API says otherwise.
type State string

// The states.
const (
	Up       State = "up"       // passes its health checks; takes new users and pinned ones
	Down     State = "down"     // fails them; takes nobody
	Draining State = "draining" // takes only users already pinned to it (Drain)
	Disabled State = "disabled" // takes nobody (Disable)
)

// Tone is how a page colours a state: "good", "warn" or "bad".
func (s State) Tone() string {
	switch s {
	case Up:
		return "good"
	case Down:
		return "bad"
	}
	return "warn"
}

// States lists the states, in the order the metrics give them.
var States = []State{Up, Down, Draining, Disabled}

// Action changes a backend's admin state through the admin API.
type Action string

// The actions.
const (
	Drain   Action = "drain"   // take no new users, keep those pinned
	Disable Action = "disable" // take nobody
	Enable  Action = "enable"  // back to normal: its health decides
)

// Actions lists the actions.
var Actions = []Action{Drain, Disable, Enable}

// BackendStatus is a backend as the admin API shows it.
type BackendStatus struct {
	Name     string `json:"name"`
	Addr     string `json:"addr"`
	State    State  `json:"state"`
	Tone     string `json:"tone"` // State.Tone: how pages colour it
	Healthy  bool   `json:"healthy"`
	InFlight int64  `json:"in_flight"`
	Upgraded int64  `json:"upgraded"` // open WebSocket (or other upgraded) connections
	// Strays counts connections closed because the backend sent bytes
	// nobody asked for (they would have been taken for the next answer).
	Strays   int64     `json:"strays,omitempty"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	Changed  time.Time `json:"last_change"`
	Why      string    `json:"why"`
	// Checked is when the last active check ended: a state read after a
	// restart is current only if Checked is later than the restart.
	Checked time.Time `json:"last_check"`
	// Sessions is what the backend's health check answer said it holds
	// ({"sessions": N}), when it says so: the memory variant does.
	Sessions *int64 `json:"sessions,omitempty"`
}

// EventType says what changed.
type EventType string

// The event types.
const (
	EventDown    EventType = "backend_down"
	EventUp      EventType = "backend_up"
	EventAdded   EventType = "backend_added"
	EventRemoved EventType = "backend_removed"
	EventDrain   EventType = "backend_draining"
	EventDisable EventType = "backend_disabled"
	EventEnable  EventType = "backend_enabled"
	EventPolicy  EventType = "policy_switched"
	// EventShedding: a pool's listener failed to accept for want of
	// resources (file descriptors) and retries; EventAccepting: it
	// accepts again.
	EventShedding  EventType = "pool_shedding"
	EventAccepting EventType = "pool_accepting"
)

// Event is a state change, as GET /api/events streams it.
type Event struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Type    EventType `json:"type"`
	Pool    string    `json:"pool"`
	Backend string    `json:"backend,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// DetectSeconds, on backend_down, is the time from the backend's last
	// answer (a request or a check) to the balancer marking it down: an
	// upper bound of how long it was dead before the balancer knew.
	DetectSeconds float64 `json:"detect_seconds,omitempty"`
	Policy        Policy  `json:"policy,omitempty"`
	Strict        bool    `json:"strict,omitempty"`
}

// AdminError is every error the admin API returns, as JSON.
type AdminError struct {
	Status int    `json:"-"`
	Error  string `json:"error"`
}

// Status is the body of GET /api/pools.
type Status struct {
	Health HealthSettings `json:"health"`
	Pools  []PoolStatus   `json:"pools"`
	// Policies are the settings a pool accepts, for a page's menu.
	Policies []PolicyInfo `json:"policies"`
}

// HealthSettings are the health-check settings, printed so that students can
// reason about detection times.
type HealthSettings struct {
	Path           string  `json:"path"`
	IntervalSecond float64 `json:"interval_seconds"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
	Rise           int     `json:"rise"`
	Fall           int     `json:"fall"`
}

// PolicyRequest is the body of PUT /api/pools/{pool}/policy.
type PolicyRequest struct {
	Policy Policy `json:"policy"`
	Strict bool   `json:"strict"`
}

// BackendRequest is the body of POST /api/pools/{pool}/backends.
type BackendRequest struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
}

// PoolStatus is a pool as the admin API shows it.
type PoolStatus struct {
	Name   string `json:"name"`
	Listen string `json:"listen"`
	Policy Policy `json:"policy"`
	Strict bool   `json:"strict"`
	// Label and Says describe the policy setting (Describe).
	Label   string `json:"label"`
	Says    string `json:"says"`
	Cookie  string `json:"cookie"`
	Retries int64  `json:"retries"`
	Repins  int64  `json:"repins"`
	NoneUp  int64  `json:"no_backend"`
	// ClientErrors counts requests answered 4xx by the balancer for the
	// client's own fault (malformed, too large, too slow).
	ClientErrors int64 `json:"client_errors"`
	// Shedding, when set, is since when the pool's listener has failed to
	// accept for want of resources (out of file descriptors); it retries.
	Shedding *time.Time `json:"shedding_since,omitempty"`
	// Connections is the client connections open; MaxConnections the
	// pool's share of the balancer's, MaxPerAddress the most from one
	// client address.
	Connections    int `json:"connections"`
	MaxConnections int `json:"max_connections"`
	MaxPerAddress  int `json:"max_per_address"`
	// Refused counts connections answered 503 and closed at once: over
	// the pool's share or out of descriptors (Full), or over one
	// address's part (Address).
	RefusedFull    int64           `json:"refused_full"`
	RefusedAddress int64           `json:"refused_address"`
	AcceptErrors   int64           `json:"accept_errors"`
	Backends       []BackendStatus `json:"backends"`
}
