package servers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"statelab"
	"statelab/servers/store"
)

// Claims are what a statelab token carries: identity, the cart, and SID, the
// id of the login the token descends from (what the denylist revokes).
type Claims struct {
	jwt.RegisteredClaims
	SID  string          `json:"sid"`
	Cart []statelab.Item `json:"cart"`
}

// tokenSessions keeps the whole session in a signed token the client holds:
// the jwt variant. The server keeps nothing per user, unless the denylist is
// on, which is exactly what revocation costs.
type tokenSessions struct {
	keys     atomic.Pointer[keyring]
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
	denylist store.Backend // nil when off
	failOpen bool
	close    func() error
}

var _ Sessions = (*tokenSessions)(nil)

// keyring is the token keys by id, and the one that signs.
type keyring struct {
	keys   map[string][]byte
	active statelab.Key
}

func newKeyring(keys []statelab.Key, active string) *keyring {
	kr := &keyring{keys: make(map[string][]byte, len(keys))}
	for _, k := range keys {
		kr.keys[k.ID] = k.Secret
		if k.ID == active {
			kr.active = k
		}
	}
	return kr
}

func newTokenSessions(cfg Config, denylist store.Backend, closeFn func() error) *tokenSessions {
	t := &tokenSessions{
		ttl:      cfg.TokenTTL,
		now:      cfg.Now,
		denylist: denylist,
		failOpen: cfg.FailOpen,
		close:    closeFn,
	}
	t.keys.Store(newKeyring(cfg.Keys.JWT, cfg.Keys.JWTActive))
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(statelab.Issuer),
		jwt.WithAudience(statelab.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(cfg.Now),
	)
	return t
}

// Issue signs a token for st under the login sid with the active key.
func (t *tokenSessions) issue(sid string, st State) (string, error) {
	now := t.now()
	cart := st.Cart
	if cart == nil {
		cart = []statelab.Item{}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    statelab.Issuer,
			Audience:  jwt.ClaimStrings{statelab.Audience},
			Subject:   st.User,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
			ID:        randomID(),
		},
		SID:  sid,
		Cart: cart,
	})
	active := t.keys.Load().active
	tok.Header["kid"] = active.ID
	return tok.SignedString(active.Secret)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (t *tokenSessions) keyFor(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("the token names no key id (kid)")
	}
	key, ok := t.keys.Load().keys[kid]
	if !ok {
		return nil, fmt.Errorf("this server has no key %q", kid)
	}
	return key, nil
}

// verify parses and checks the request's token: signature by a known key,
// HS256 only, issuer, audience, expiry, and the denylist when it is on.
func (t *tokenSessions) verify(r *http.Request) (*Claims, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return nil, fmt.Errorf("%w: the request carries no Authorization: Bearer token", ErrNoSession)
	}
	var c Claims
	if _, err := t.parser.ParseWithClaims(raw, &c, t.keyFor); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSession, err)
	}
	if c.Subject == "" || c.SID == "" {
		return nil, fmt.Errorf("%w: the token names no user or session", ErrNoSession)
	}
	if t.denylist != nil {
		_, revoked, err := t.denylist.Find(r.Context(), c.SID)
		switch {
		case err != nil && !t.failOpen:
			return nil, err
		case err != nil: // fail open: accept the token unchecked
		case revoked:
			return nil, fmt.Errorf("%w: the token was revoked at logout (denylist)", ErrNoSession)
		}
	}
	return &c, nil
}

func (t *tokenSessions) Start(_ http.ResponseWriter, _ *http.Request, st State) (string, error) {
	return t.issue(randomID(), st)
}

func (t *tokenSessions) Current(r *http.Request) (State, error) {
	c, err := t.verify(r)
	if err != nil {
		return State{}, err
	}
	return State{User: c.Subject, Cart: c.Cart}, nil
}

func (t *tokenSessions) Update(_ http.ResponseWriter, r *http.Request, st State) (string, error) {
	c, err := t.verify(r)
	if err != nil {
		return "", err
	}
	return t.issue(c.SID, st)
}

// End revokes the token's login when the denylist is on, until every token of
// that login has expired. Without the denylist there is nothing to end: the
// token stays valid until it expires.
func (t *tokenSessions) End(_ http.ResponseWriter, r *http.Request) (bool, error) {
	c, err := t.verify(r)
	if err != nil {
		return false, err
	}
	if t.denylist == nil {
		return false, nil
	}
	// Tokens of this login are issued until now, so the last expires ttl from now.
	if err := t.denylist.Commit(r.Context(), c.SID, []byte{1}, t.now().Add(t.ttl)); err != nil {
		return false, err
	}
	return true, nil
}

func (t *tokenSessions) Stats(ctx context.Context) (store.Stats, *store.Stats, error) {
	if t.denylist == nil {
		return store.Stats{}, nil, nil
	}
	st, err := t.denylist.Stats(ctx)
	if err != nil {
		return store.Stats{}, nil, err
	}
	return store.Stats{}, &st, nil
}

func (t *tokenSessions) Close() error { return t.close() }

func (t *tokenSessions) SetKeys(k statelab.Keys) { t.keys.Store(newKeyring(k.JWT, k.JWTActive)) }
