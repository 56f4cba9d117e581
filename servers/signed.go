package servers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"statelab"
	"statelab/credential"
	"statelab/servers/store"
)

// signedSessions keeps the whole session (user, cart, login time) in a
// cookie the client holds, encrypted (AES-256) and signed (HMAC-SHA256) by
// gorilla/securecookie, the codec of gorilla/sessions' CookieStore: the
// cookie variant. No instance holds anything per user; the price is a
// session that can never outgrow a cookie, and a logout that only the
// client carries out.
type signedSessions struct {
	name     string
	codecs   atomic.Pointer[[]securecookie.Codec]
	ttl      time.Duration // the cookie's life after its last change
	lifetime time.Duration // the longest a login lasts
	secure   bool
	now      func() time.Time
}

var _ Sessions = (*signedSessions)(nil)

// errCookieTooLarge is a 413 that knows the cookie's size.
type errCookieTooLarge struct{ bytes int }

func (e *errCookieTooLarge) Error() string {
	return fmt.Sprintf("the session no longer fits in its cookie: it would be %d bytes, over the %d a browser keeps (RFC 6265), so this change is not saved; the cookie you hold still carries the session as it was", e.bytes, statelab.MaxCookieBytes)
}

func newSignedSessions(cfg Config) *signedSessions {
	s := &signedSessions{name: cfg.CookieName, ttl: cfg.SessionTTL, lifetime: cfg.SessionLifetime, secure: cfg.SecureCookies, now: cfg.Now}
	s.SetKeys(cfg.Keys)
	return s
}

// SetKeys replaces the codecs: the first cookie key signs and encrypts,
// every key is tried when reading.
func (s *signedSessions) SetKeys(k statelab.Keys) {
	codecs := make([]securecookie.Codec, 0, len(k.Cookie))
	for _, key := range k.Cookie {
		sc := credential.SessionCodec(key)
		sc.MaxAge(int(s.ttl / time.Second))
		// Encode past the browser's limit, so that the size is known and
		// said; such a cookie is refused before it is sent (see save).
		sc.MaxLength(4 * statelab.MaxCookieBytes)
		codecs = append(codecs, sc)
	}
	s.codecs.Store(&codecs)
}

func (s *signedSessions) Current(r *http.Request) (State, error) {
	c, err := r.Cookie(s.name)
	if err != nil {
		return State{}, fmt.Errorf("%w: the request carries no %s cookie", ErrNoSession, s.name)
	}
	var st State
	if err := securecookie.DecodeMulti(s.name, c.Value, &st, *s.codecs.Load()...); err != nil {
		return State{}, fmt.Errorf("%w: the session cookie was not made by any key this server has, was altered, or has expired (it lives %s after its last change)", ErrNoSession, s.ttl)
	}
	if st.User == "" || validName("user", st.User) != nil || validCart(st.Cart) != nil {
		return State{}, fmt.Errorf("%w: the session cookie carries no valid session", ErrNoSession)
	}
	if s.now().After(time.Unix(st.Since, 0).Add(s.lifetime)) {
		return State{}, fmt.Errorf("%w: the login is older than %s, the longest a session lasts: log in again", ErrNoSession, s.lifetime)
	}
	return st, nil
}

// save sets the cookie that carries st, unless it would be too large for a
// browser to keep: then nothing is set and the error says the size.
func (s *signedSessions) save(w http.ResponseWriter, st State) error {
	if st.Cart == nil {
		st.Cart = []statelab.Item{}
	}
	st.Saved = s.now().UnixMilli()
	value, err := securecookie.EncodeMulti(s.name, st, *s.codecs.Load()...)
	if err != nil {
		return fmt.Errorf("encode the session cookie: %w", err)
	}
	if n := len(s.name) + 1 + len(value); n > statelab.MaxCookieBytes {
		w.Header().Set(statelab.CookieTooLargeHeader, strconv.Itoa(n))
		return &errCookieTooLarge{bytes: n}
	}
	http.SetCookie(w, sessions.NewCookie(s.name, value, s.options(int(s.ttl/time.Second))))
	return nil
}

// Slide sets the cookie again, with a new expiry, once half of its life has
// passed since it was made.
func (s *signedSessions) Slide(w http.ResponseWriter, _ *http.Request, st State) error {
	if !due(st.Saved, s.ttl, s.now()) {
		return nil
	}
	var full *errCookieTooLarge
	if err := s.save(w, st); err != nil && !errors.As(err, &full) {
		return err
	}
	return nil // a full cookie is not renewed, and the read still served
}

func (s *signedSessions) options(maxAge int) *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure}
}

func (s *signedSessions) Start(w http.ResponseWriter, _ *http.Request, st State) (string, error) {
	st.Since = s.now().Unix()
	return "", s.save(w, st)
}

func (s *signedSessions) Update(w http.ResponseWriter, r *http.Request, st State) (string, error) {
	cur, err := s.Current(r)
	if err != nil {
		return "", err
	}
	st.User, st.Since = cur.User, cur.Since
	return "", s.save(w, st)
}

// End deletes the cookie from the client. Nothing on the server knew the
// session, so nothing there can refuse it: a copy of the cookie taken
// before stays valid until it expires, and, used, renews itself (as the
// session did) up to Config.SessionLifetime after the login.
func (s *signedSessions) End(w http.ResponseWriter, r *http.Request) (bool, error) {
	if _, err := s.Current(r); err != nil {
		return false, err
	}
	http.SetCookie(w, sessions.NewCookie(s.name, "", s.options(-1)))
	return false, nil
}

func (s *signedSessions) Stats(context.Context) (store.Stats, *store.Stats, error) {
	return store.Stats{}, nil, nil
}

func (s *signedSessions) Close() error { return nil }
