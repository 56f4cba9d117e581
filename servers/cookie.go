package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"

	"statelab"
	"statelab/servers/store"
)

// cookieSessions keeps the session in a store.Backend and a signed id in the
// cookie: the memory and redis variants.
type cookieSessions struct {
	name     string // the cookie's name
	store    *store.CookieStore
	shared   bool // the backend is shared by every instance (Redis)
	failOpen bool
	ttl      time.Duration // a session's life after its last use
	lifetime time.Duration // the longest a login lasts
	now      func() time.Time
	close    func() error
	started  time.Time // when this instance started: a memory session is no older
	// resetAt, with a shared store, says when the lab last emptied it.
	resetAt func(context.Context) (time.Time, bool)
}

var _ Sessions = (*cookieSessions)(nil)

// clock says a moment to a person: the time of day, in UTC (the pages'
// readers and the lab's processes may be in different time zones).
func clock(t time.Time) string { return t.UTC().Format("15:04:05") + " UTC" }

// session returns the request's gorilla session and its decoded state.
func (c *cookieSessions) session(r *http.Request) (*sessions.Session, State, error) {
	sess, err := c.store.Get(r, c.name)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		if c.failOpen {
			return sess, State{}, fmt.Errorf("%w: the session store is unavailable and this server fails open (%v)", ErrNoSession, err)
		}
		return sess, State{}, err
	case err != nil:
		return sess, State{}, fmt.Errorf("%w: the session cookie was not signed by any key this server has, or was altered", ErrNoSession)
	case sess.IsNew:
		if _, cerr := r.Cookie(c.name); cerr != nil {
			return sess, State{}, fmt.Errorf("%w: the request carries no %s cookie", ErrNoSession, c.name)
		}
		if !c.shared {
			return sess, State{}, fmt.Errorf("%w: this instance holds no session with this id (never created here, expired, ended, or created before this instance started at %s)", ErrNoSession, clock(c.started))
		}
		why := fmt.Errorf("%w: the shared store holds no session with this id (never created here, expired, or ended)", ErrNoSession)
		if c.resetAt != nil {
			if at, ok := c.resetAt(r.Context()); ok {
				why = fmt.Errorf("%w. The lab was last reset at %s, which empties Redis: a session from before then is gone; log in again", why, clock(at))
			}
		}
		return sess, State{}, why
	}
	raw, _ := sess.Values["state"].(string)
	var st State
	if err := json.Unmarshal([]byte(raw), &st); err != nil || st.User == "" {
		return sess, State{}, fmt.Errorf("%w: the stored session is unreadable", ErrNoSession)
	}
	if c.now().After(time.Unix(st.Since, 0).Add(c.lifetime)) {
		return sess, State{}, fmt.Errorf("%w: the login is older than %s, the longest a session lasts: log in again", ErrNoSession, c.lifetime)
	}
	return sess, st, nil
}

func (c *cookieSessions) save(w http.ResponseWriter, r *http.Request, sess *sessions.Session, st State) error {
	st.Saved = c.now().UnixMilli()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sess.Values["state"] = string(raw)
	return c.store.Save(r, w, sess)
}

// Slide writes the session again, with a new expiry, once half of its life
// has passed since it was last written.
func (c *cookieSessions) Slide(w http.ResponseWriter, r *http.Request, st State) error {
	if !due(st.Saved, c.ttl, c.now()) {
		return nil
	}
	sess, _, err := c.session(r)
	if err != nil {
		return err
	}
	st.Saved = c.now().UnixMilli()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sess.Values["state"] = string(raw)
	return c.store.Refresh(r, w, sess)
}

func (c *cookieSessions) Start(w http.ResponseWriter, r *http.Request, st State) (string, error) {
	sess, _ := c.store.Get(r, c.name) // a bad or lost old session is no obstacle to logging in
	if err := c.store.Renew(r.Context(), sess); err != nil {
		return "", err
	}
	clear(sess.Values)
	st.Since = c.now().Unix()
	return "", c.save(w, r, sess, st)
}

func (c *cookieSessions) Current(r *http.Request) (State, error) {
	_, st, err := c.session(r)
	return st, err
}

func (c *cookieSessions) Update(w http.ResponseWriter, r *http.Request, st State) (string, error) {
	sess, _, err := c.session(r)
	if err != nil {
		return "", err
	}
	return "", c.save(w, r, sess, st)
}

func (c *cookieSessions) End(w http.ResponseWriter, r *http.Request) (bool, error) {
	sess, _, err := c.session(r)
	if err != nil {
		return false, err
	}
	sess.Options.MaxAge = -1
	if err := c.store.Save(r, w, sess); err != nil {
		return false, err
	}
	return true, nil
}

func (c *cookieSessions) Stats(ctx context.Context) (store.Stats, *store.Stats, error) {
	st, err := c.store.Backend.Stats(ctx)
	if err != nil {
		return store.Stats{}, nil, err
	}
	if c.shared {
		return store.Stats{}, &st, nil
	}
	return st, nil, nil
}

func (c *cookieSessions) Close() error { return c.close() }

func (c *cookieSessions) SetKeys(k statelab.Keys) { c.store.SetKeys(k.Cookie...) }
