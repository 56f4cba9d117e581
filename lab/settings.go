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
