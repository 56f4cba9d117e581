// Package store keeps login sessions on the server and only a signed session id
// in the client's cookie. It draws the line the lab is about: a session that is
// not found is a lost session (the user must log in again), while a store that
// cannot answer is an outage (ErrUnavailable), and the two never look alike.
//
// A Backend holds encoded sessions by id (in process memory, or in Redis);
// CookieStore puts a gorilla/sessions Store in front of any Backend, so that the
// memory and Redis variants differ only in where the bytes live.
package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"statelab/credential"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// ErrUnavailable is wrapped by every Backend error that means the store could
// not answer (unreachable, timed out, refused). It is never returned for a
// session that simply does not exist.
var ErrUnavailable = errors.New("session store unavailable")

// Backend holds encoded sessions by id. Its doc comments are the contract that
// storetest checks for every implementation.
type Backend interface {
	// Find returns the data committed for id. A missing or expired session is
	// (nil, false, nil): err is for system failures only and wraps ErrUnavailable.
	Find(ctx context.Context, id string) (data []byte, found bool, err error)
	// Commit stores data for id until expiry, replacing what was there.
	Commit(ctx context.Context, id string, data []byte, expiry time.Time) error
	// Refresh stores data for id until expiry, as Commit does, but only
	// while id is still held: a session deleted or expired meanwhile is not
	// brought back. It reports whether id was held.
	Refresh(ctx context.Context, id string, data []byte, expiry time.Time) (bool, error)
	// Delete removes id. Deleting a missing session is not an error.
	Delete(ctx context.Context, id string) error
	// Stats counts the sessions the backend holds and their size in bytes
	// (ids and encoded data, not allocator overhead), in constant time: from
	// counters, never by a scan.
	Stats(ctx context.Context) (Stats, error)
}

// Stats is what a Backend holds, read from counters it keeps: asking costs
// the same whatever it holds.
type Stats struct {
	Sessions int64 `json:"sessions"`
	Bytes    int64 `json:"bytes"`
	// Evicted counts the sessions dropped to make room (the bound of an
	// in-memory store, Redis's maxmemory policy) since the store started.
	Evicted int64 `json:"evicted"`
	// Max is the most sessions the backend holds, when it has such a bound.
	Max int64 `json:"max,omitempty"`
}

// CookieStore is a gorilla/sessions Store whose cookie carries only a signed,
// random session id; the session's values live in the Backend.
type CookieStore struct {
	// codecs sign (and verify) the id in the cookie. The first codec signs;
	// every codec is tried when verifying, which is how keys are rotated.
	codecs atomic.Pointer[[]securecookie.Codec]
	// Options are the cookie attributes of new sessions. MaxAge is also the
	// session's lifetime in the Backend.
	Options *sessions.Options
	// Backend holds the sessions.
	Backend Backend
}

var _ sessions.Store = (*CookieStore)(nil)

// NewCookieStore returns a store over b whose cookies are signed with keys:
// the first key signs, all keys verify. ttl is the session lifetime.
func NewCookieStore(b Backend, ttl time.Duration, secure bool, keys ...[]byte) *CookieStore {
	maxAge := int(ttl / time.Second)
	s := &CookieStore{
		Backend: b,
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   maxAge,
			HttpOnly: true,
			// Lax and not Secure by default: gorilla's own defaults (Secure,
			// SameSite=None) make cookie jars drop the cookie over plain HTTP,
			// which would show up as a lost session that never happened.
			SameSite: http.SameSiteLaxMode,
			Secure:   secure,
		},
	}
	s.SetKeys(keys...)
	return s
}

// SetKeys replaces the keys, for requests from now on: the first key signs,
// all verify. Keeping the old key after a new one lets cookies signed before
// the change be read; dropping it ends them.
func (s *CookieStore) SetKeys(keys ...[]byte) {
	codecs := make([]securecookie.Codec, 0, len(keys))
	for _, k := range keys {
		sc := credential.IDCodec(k) // signed only: the id is random, not secret
		sc.MaxAge(s.Options.MaxAge)
		codecs = append(codecs, sc)
	}
	s.codecs.Store(&codecs)
}

// ErrBadCookie is returned, with a new empty session, when the request's
// cookie was not signed by any of the store's keys, or was altered.
var ErrBadCookie = errors.New("session cookie failed verification")

// Get returns the request's session, cached for the rest of the request.
func (s *CookieStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the request's session. With no cookie, or an id the backend does
// not hold, it returns a new session and no error: the caller sees IsNew. A
// cookie that fails verification gives a new session and ErrBadCookie; a
// backend failure gives a new session and an error wrapping ErrUnavailable.
func (s *CookieStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := *s.Options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var raw []byte
	if err := securecookie.DecodeMulti(name, c.Value, &raw, *s.codecs.Load()...); err != nil {
		return sess, fmt.Errorf("%w: %v", ErrBadCookie, err)
	}
	id := string(raw)
	data, found, err := s.Backend.Find(r.Context(), id)
	if err != nil {
		return sess, err
	}
	if !found {
		return sess, nil
	}
	if err := decodeValues(data, sess.Values); err != nil {
		// Data we wrote ourselves and cannot read back: treat as no session
		// rather than fail every request of this user forever.
		return sess, nil
	}
	sess.ID = id
	sess.IsNew = false
	return sess, nil
}

// Save commits the session and sets its cookie. A session whose
// Options.MaxAge is negative is deleted from the backend and its cookie
// expired. A session without an id gets a new random one: that is how a
// login gets a fresh id (see Renew).
func (s *CookieStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.Backend.Delete(r.Context(), sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		sess.ID = NewID()
	}
	data, err := encodeValues(sess.Values)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	expiry := time.Now().Add(time.Duration(sess.Options.MaxAge) * time.Second)
	if err := s.Backend.Commit(r.Context(), sess.ID, data, expiry); err != nil {
		return err
	}
	return s.setCookie(w, sess)
}

// Refresh writes the session's values again with a new expiry, and sets its
// cookie again, but only while the backend still holds it: a session ended
// since it was read (a logout) stays ended.
func (s *CookieStore) Refresh(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.ID == "" {
		return nil
	}
	data, err := encodeValues(sess.Values)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	expiry := time.Now().Add(time.Duration(sess.Options.MaxAge) * time.Second)
	held, err := s.Backend.Refresh(r.Context(), sess.ID, data, expiry)
	if err != nil || !held {
		return err
	}
	return s.setCookie(w, sess)
}

// Renew deletes sess's current record, if it has one, and clears its id so
// that the next Save stores it under a new id. Logins call it, so that an id
// planted before login is never the id of a logged-in session (no fixation).
func (s *CookieStore) Renew(ctx context.Context, sess *sessions.Session) error {
	if sess.ID != "" {
		if err := s.Backend.Delete(ctx, sess.ID); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.IsNew = true
	return nil
}

// NewID returns a random session id: 32 bytes from crypto/rand in base32.
func NewID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails, see crypto/rand.Read
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// Session values are stored as a small binary map when every key and value
// is a string (all the lab stores), and as gob otherwise. The first byte
// says which: gob, with its type descriptions, costs ten times as much to
// read back, on every request.
const (
	formatStrings byte = 's'
	formatGob     byte = 'g'
)

func encodeValues(values map[any]any) ([]byte, error) {
	size := 1
	for k, v := range values {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if !ok1 || !ok2 {
			var buf bytes.Buffer
			buf.WriteByte(formatGob)
			if err := gob.NewEncoder(&buf).Encode(values); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
		size += 2*binary.MaxVarintLen64 + len(ks) + len(vs)
	}
	out := make([]byte, 1, size)
	out[0] = formatStrings
	for k, v := range values {
		ks, vs := k.(string), v.(string)
		out = binary.AppendUvarint(out, uint64(len(ks)))
		out = append(out, ks...)
		out = binary.AppendUvarint(out, uint64(len(vs)))
		out = append(out, vs...)
	}
	return out, nil
}

func decodeValues(data []byte, values map[any]any) error {
	if len(data) == 0 {
		return errors.New("empty session data")
	}
	switch data[0] {
	case formatGob:
		return gob.NewDecoder(bytes.NewReader(data[1:])).Decode(&values)
	case formatStrings:
	default:
		return errors.New("unknown session data format")
	}
	rest := data[1:]
	next := func() (string, bool) {
		n, used := binary.Uvarint(rest)
		if used <= 0 || uint64(len(rest)-used) < n {
			return "", false
		}
		s := string(rest[used : used+int(n)])
		rest = rest[used+int(n):]
		return s, true
	}
	for len(rest) > 0 {
		k, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return errors.New("truncated session data")
		}
		values[k] = v
	}
	return nil
}

// setCookie sets the cookie that carries the session's signed id.
func (s *CookieStore) setCookie(w http.ResponseWriter, sess *sessions.Session) error {
	encoded, err := securecookie.EncodeMulti(sess.Name(), []byte(sess.ID), *s.codecs.Load()...)
	if err != nil {
		return fmt.Errorf("sign session cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}
