package lab

import (
	"sort"
	"strings"
	"time"
)

// Settings change how an instance runs, on top of its base configuration.
// The zero value changes nothing.
type Settings struct {
	// FailOpen: when Redis errors, carry on as if the user had no session
	// (lab server --fail-open).
	FailOpen bool
	// Denylist: the jwt variant records logged-out logins in Redis and
	// refuses their tokens (lab server --jwt-denylist).
	Denylist bool
	// TokenTTL, when set, is how long a token is valid after it is issued
	// (lab server --token-ttl).
	TokenTTL time.Duration
	// SessionTTL, when set, is how long a session lives after its last use
	// (lab server --session-ttl).
	SessionTTL time.Duration
	// RedisTimeout, when set, is how long an instance waits for Redis
	// before it answers 503 (lab server --redis-timeout).
	RedisTimeout time.Duration
}

// Over returns s with what base sets and s does not: a scenario's settings
// on top of the lab's base (the calibrated timing).
func (s Settings) Over(base Settings) Settings {
	out := s
	out.FailOpen = s.FailOpen || base.FailOpen
	out.Denylist = s.Denylist || base.Denylist
	if out.TokenTTL <= 0 {
		out.TokenTTL = base.TokenTTL
	}
	if out.SessionTTL <= 0 {
		out.SessionTTL = base.SessionTTL
	}
	if out.RedisTimeout <= 0 {
		out.RedisTimeout = base.RedisTimeout
	}
	return out
}

// Env is s as the STATELAB_ variables of `lab server`, for runtimes that
// start a process or a container.
func (s Settings) Env() map[string]string {
	env := map[string]string{}
	if s.FailOpen {
		env["STATELAB_FAIL_OPEN"] = "true"
	}
	if s.Denylist {
		env["STATELAB_JWT_DENYLIST"] = "true"
	}
	if s.TokenTTL > 0 {
		env["STATELAB_TOKEN_TTL"] = s.TokenTTL.String()
	}
	if s.SessionTTL > 0 {
		env["STATELAB_SESSION_TTL"] = s.SessionTTL.String()
	}
	if s.RedisTimeout > 0 {
		env["STATELAB_REDIS_TIMEOUT"] = s.RedisTimeout.String()
	}
	return env
}

// String is s as NAME=value settings, for the narration.
func (s Settings) String() string {
	var parts []string
	for k, v := range s.Env() {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "its base configuration"
	}
	return strings.Join(parts, " ")
}
