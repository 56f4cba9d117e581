package servers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"statelab"
	"statelab/credential"
	"statelab/servers/store"
)

// State is what the application knows of a logged-in user, in the format
// package credential owns (the cookie variant's cookie carries it whole).
type State = credential.Session

// slider is implemented by Sessions whose sessions live SessionTTL after
// their last use (memory, redis, cookie; a token lives a fixed time from
// its issue): Slide writes the request's session again, with a new
// expiry, once half of its life has passed since it was last written.
type slider interface {
	Slide(w http.ResponseWriter, r *http.Request, st State) error
}

// due reports whether a session last written at saved (unix ms) should be
// written again now, to live ttl from now.
func due(saved int64, ttl time.Duration, now time.Time) bool {
	return now.Sub(time.UnixMilli(saved)) > ttl/2
}

// Errors that Sessions return, and the status each one becomes.
var (
	// ErrNoSession: the request carries no session, or one that is unknown,
	// expired, tampered with, signed with an unknown key, or revoked. 401.
	ErrNoSession = errors.New("no session")
	// ErrUnavailable: the session store could not answer. 503.
	ErrUnavailable = store.ErrUnavailable
)

// Sessions is where a variant keeps login sessions: the one seam between the
// application and the four variants.
type Sessions interface {
	// Start begins a new session holding st, replacing any the request
	// carried. It returns the token the client must send back, or "" when
	// the session travels in a cookie set on w.
	Start(w http.ResponseWriter, r *http.Request, st State) (token string, err error)
	// Current returns the state of the request's session: ErrNoSession when
	// there is none, ErrUnavailable when the store cannot answer.
	Current(r *http.Request) (State, error)
	// Update replaces the state of the request's session (found by Current)
	// and returns the new token, or "" for cookie sessions.
	Update(w http.ResponseWriter, r *http.Request, st State) (token string, err error)
	// End ends the request's session. It reports whether the credential the
	// client held is now refused (false for a token without a denylist).
	End(w http.ResponseWriter, r *http.Request) (revoked bool, err error)
	// Stats reports the sessions this instance holds and, for a shared store,
	// what that store holds.
	Stats(ctx context.Context) (local store.Stats, shared *store.Stats, err error)
	// SetKeys replaces the signing keys for requests from now on.
	SetKeys(keys statelab.Keys)
	// Close releases what the sessions hold (cleanup goroutines, clients).
	Close() error
}

// randomID returns 16 random bytes in URL-safe base64: ids inside tokens.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
