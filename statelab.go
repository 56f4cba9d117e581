// Package statelab is the lab's contract: what travels between virtual
// users, the balancer and the server instances, shared by all of them
// without importing any of them. The variants, the JSON bodies of the API,
// the headers that name who answered, the limits on input, and the keys
// file that rotates keys without a restart.
//
// The application is in servers, the balancer in lb, the runtimes that
// start and break a lab in lab, and the scenarios in scenarios.
package statelab

import (
	"fmt"
	"strings"
)

// Variant names where a variant keeps its sessions.
type Variant string

// The variants.
const (
	Memory Variant = "memory" // in one server process's memory
	Redis  Variant = "redis"  // in a Redis every instance shares
	JWT    Variant = "jwt"    // in a signed token the client holds
	Cookie Variant = "cookie" // whole, in a signed, encrypted cookie the client holds
)

// Variants lists every variant, in the order reports show them.
var Variants = []Variant{Memory, Redis, JWT, Cookie}

// ParseVariant checks that s names a variant.
func ParseVariant(s string) (Variant, error) {
	for _, v := range Variants {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown variant %q (want %s)", s, strings.Join(VariantNames(), ", "))
}

// VariantNames lists the variants' names, in the order of Variants.
func VariantNames() []string {
	names := make([]string, len(Variants))
	for i, v := range Variants {
		names[i] = string(v)
	}
	return names
}

// Headers every response carries.
const (
	// InstanceHeader names the server instance that answered.
	InstanceHeader = "X-Statelab-Instance"
	// BackendHeader names the backend the balancer sent the request to.
	BackendHeader = "X-Statelab-Backend"
	// RepinnedHeader says "from -> to" when the balancer moved a sticky
	// user to another backend.
	RepinnedHeader = "X-Statelab-Repinned"
	// CookieTooLargeHeader, on a 413 of the cookie variant, gives the
	// bytes the session cookie would have had: the change was not saved,
	// since no browser would keep the cookie that carries it.
	CookieTooLargeHeader = "X-Statelab-Cookie-Too-Large"
)

// Cookie names.
const (
	// SessionCookie is the default session cookie of the memory, redis and
	// cookie variants. Browsers send a host's cookies to all its ports, so
	// variants served on one host use SessionCookie + "_" + variant.
	SessionCookie = "statelab_session"
	// AffinityCookie is the balancer's sticky cookie; its value names the
	// backend. Pools on one host use AffinityCookie + "_" + pool.
	AffinityCookie = "statelab_backend"
)

// Issuer and Audience of every token; verification demands both.
const (
	Issuer   = "statelab"
	Audience = "statelab"
)

// DemoPassword is the password every demo user has, unless configured.
const DemoPassword = "statelab"

// Limits on input. Anything beyond them is a 400, a 413 or a 415, never a
// crash; each is in the error's words.
const (
	MaxBody      = 16 << 10 // bytes of a request body
	MaxNameLen   = 64       // runes of a user name
	MaxItemLen   = 32       // runes of an item's name
	MaxQty       = 99       // per cart line, per request
	MaxLineQty   = 9999     // per cart line, in all
	MaxCartLines = 100      // lines in a cart
	// MaxTokenBytes is the largest token the jwt variant issues: a cart
	// that would need a larger one is refused (413), since a token travels
	// in a header and proxies commonly refuse headers over 8 KiB.
	MaxTokenBytes = 8 << 10
	// MaxIdempotencyKeys is how many Idempotency-Keys of a session's latest
	// cart changes the session remembers; MaxIdempotencyKeyLen the longest
	// key taken.
	MaxIdempotencyKeys   = 8
	MaxIdempotencyKeyLen = 64
)

// IdempotencyKeyHeader names a cart change, so that sending it again
// (after an answer that never came) does not apply it twice.
const IdempotencyKeyHeader = "Idempotency-Key"

// Item is one line of a cart.
type Item struct {
	Item string `json:"item"`
	Qty  int    `json:"qty"`
}

// Login is the body of POST /login.
type Login struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Body is every JSON response of the application. Fields a response does
// not use are left out.
type Body struct {
	Instance string `json:"instance"`
	Variant  string `json:"variant"`
	Error    string `json:"error,omitempty"`
	User     string `json:"user,omitempty"`
	Cart     []Item `json:"cart,omitzero"`
	// Token is the jwt variant's credential, after login and every cart change.
	Token string `json:"token,omitempty"`
	// Revoked, after logout, says whether the credential the client held is
	// now refused.
	Revoked *bool  `json:"revoked,omitempty"`
	Note    string `json:"note,omitempty"`
	Status  string `json:"status,omitempty"`
	// Keys (on /healthz) describes the keys in force, without revealing
	// them; SigningKey is the id (jwt) or fingerprint (cookies) of the one
	// that signs; Reloads counts the key reloads since start.
	Keys       string `json:"keys,omitempty"`
	SigningKey string `json:"signing_key,omitempty"`
	Reloads    int64  `json:"reloads,omitzero"`
	// CrashArmed (on /healthz) says the instance will die after the next
	// cart change it applies, before answering it.
	CrashArmed bool `json:"crash_armed,omitempty"`
	// RedisTimeout (on /healthz, for instances that use Redis) is how long
	// the instance waits for Redis before it gives up (503).
	RedisTimeout string `json:"redis_timeout,omitempty"`
	// Sessions (on /healthz, memory variant only) is how many sessions this
	// instance holds in its memory: the balancer shows it beside the
	// instance's state.
	Sessions *int64 `json:"sessions,omitempty"`
}

// Held is what a session store holds: sessions and their bytes (ids and
// encoded data, not allocator overhead).
type Held struct {
	Sessions int64 `json:"sessions"`
	Bytes    int64 `json:"bytes"`
	// Evicted counts what the store dropped to make room since it started
	// (for Redis: every key its maxmemory policy evicted).
	Evicted int64 `json:"evicted"`
}

// Stats is the body of GET /stats.
type Stats struct {
	Instance string `json:"instance"`
	Variant  string `json:"variant"`
	// Sessions and Bytes are what this instance holds itself; Evicted the
	// sessions it dropped to stay under Max, the most it holds (0: this
	// variant holds none).
	Sessions int64 `json:"sessions"`
	Bytes    int64 `json:"bytes"`
	Evicted  int64 `json:"evicted"`
	Max      int64 `json:"max,omitempty"`
	// Requests counts the application requests this instance served
	// (not /healthz or /stats).
	Requests int64 `json:"requests"`
	// HeapBytes is the Go heap in use: everything this process holds.
	HeapBytes uint64 `json:"heap_bytes"`
	// Store is what the shared store holds (Redis sessions, or the jwt
	// denylist), when the variant uses one.
	Store *Held `json:"store,omitempty"`
}

// EnvName is the environment variable that sets a flag of the lab's
// commands: STATELAB_ and the flag's name in upper case, - as _
// (--redis-timeout: STATELAB_REDIS_TIMEOUT).
func EnvName(flag string) string {
	return "STATELAB_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
