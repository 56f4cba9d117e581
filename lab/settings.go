package lab

import (
	"sort"
	"strings"
	"time"

	"statelab"
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
	// AnswerDelay, when set, is how long the instance waits before it
	// handles each request of a user (not its health checks): a slow
	// instance (lab server --answer-delay).
	AnswerDelay time.Duration
	// Sentinels, when set, are the Sentinels (comma-separated addresses)
	// the instance finds the Redis primary through (lab server
	// --redis-sentinels).
	Sentinels string
	// RedisWait, when set, makes each session write wait until a replica
	// has it, at most this long (lab server --redis-wait).
	RedisWait time.Duration
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
	if out.AnswerDelay <= 0 {
		out.AnswerDelay = base.AnswerDelay
	}
	if out.RedisTimeout <= 0 {
		out.RedisTimeout = base.RedisTimeout
	}
	if out.Sentinels == "" {
		out.Sentinels = base.Sentinels
	}
	if out.RedisWait <= 0 {
		out.RedisWait = base.RedisWait
	}
	return out
}

// settingFlags is the one list of the settings: each field's flag of
// `lab server`, and its value there when s sets it. The env names
// (statelab.EnvName), the processes' and containers' environment, and the
// narration are made from it; a test checks each flag against lab server.
var settingFlags = []struct {
	flag  string
	value func(s Settings) (string, bool)
}{
	{"fail-open", func(s Settings) (string, bool) { return "true", s.FailOpen }},
	{"jwt-denylist", func(s Settings) (string, bool) { return "true", s.Denylist }},
	{"token-ttl", func(s Settings) (string, bool) { return s.TokenTTL.String(), s.TokenTTL > 0 }},
	{"session-ttl", func(s Settings) (string, bool) { return s.SessionTTL.String(), s.SessionTTL > 0 }},
	{"redis-timeout", func(s Settings) (string, bool) { return s.RedisTimeout.String(), s.RedisTimeout > 0 }},
	{"answer-delay", func(s Settings) (string, bool) { return s.AnswerDelay.String(), s.AnswerDelay > 0 }},
	{"redis-sentinels", func(s Settings) (string, bool) { return s.Sentinels, s.Sentinels != "" }},
	{"redis-wait", func(s Settings) (string, bool) { return s.RedisWait.String(), s.RedisWait > 0 }},
}

// SettingFlags lists the flags of lab server the settings set.
func SettingFlags() []string {
	out := make([]string, len(settingFlags))
	for i, f := range settingFlags {
		out[i] = f.flag
	}
	return out
}

// Env is s as the STATELAB_ variables of `lab server`, for runtimes that
// start a process or a container.
func (s Settings) Env() map[string]string {
	env := map[string]string{}
	for _, f := range settingFlags {
		if v, ok := f.value(s); ok {
			env[statelab.EnvName(f.flag)] = v
		}
	}
	return env
}

// String is s as NAME=value settings, for the narration.
func (s Settings) String() string {
	var parts []string
	for k, v := range s.Env() {
		// A list (the Sentinels) breaks after its commas on a narrow page.
		parts = append(parts, k+"="+strings.ReplaceAll(v, ",", ", "))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "its base configuration"
	}
	return strings.Join(parts, " ")
}
