package servers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"statelab"
	"statelab/credential"
	"statelab/servers/store"
)

// Claims are what a statelab token carries, in the format package
// credential owns.
type Claims = credential.Claims

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
	lifetime time.Duration // the longest a login lasts
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
		lifetime: cfg.SessionLifetime,
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

// Issue signs a token for st under the login sid with the active key. A
// token over statelab.MaxTokenBytes is not issued: 413.
func (t *tokenSessions) issue(sid string, st State) (string, error) {
	now := t.now()
	cart := st.Cart
	if cart == nil {
		cart = []statelab.Item{}
	}
	active := t.keys.Load().active
	signed, err := credential.SignToken(Claims{
		RegisteredClaims: credential.NewClaims(st.User, randomID(), now, t.ttl),
		SID:              sid,
		Cart:             cart,
		Login:            jwt.NewNumericDate(time.Unix(st.Since, 0)),
		Applied:          st.Applied,
	}, active.ID, active.Secret)
	if err != nil {
		return "", err
	}
	if len(signed) > statelab.MaxTokenBytes {
		return "", tooLarge("the cart no longer fits in a token of at most %d bytes (this one would be %d): the token travels in a header", statelab.MaxTokenBytes, len(signed))
	}
	return signed, nil
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
	if _, ok := tok.Header["crit"]; ok {
		// RFC 7515, 4.1.11: a recipient must refuse extensions it does not
		// understand; this one understands none.
		return nil, errors.New("the token's header has a crit parameter, which this server does not honour")
	}
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("the token names no key id (kid)")
	}
	key, ok := t.keys.Load().keys[kid]
	if !ok {
		return nil, errors.New("this server has no key with the token's key id (kid)")
	}
	return key, nil
}

// numericTimes checks that the time claims of a token's payload, when
// present, are JSON numbers (RFC 7519, 2: NumericDate): the parser would
// also take a number written as a string.
func numericTimes(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("the token is not three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return errors.New("the token's payload is not base64url")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return errors.New("the token's payload is not a JSON object")
	}
	for _, name := range []string{"exp", "nbf", "iat", "login"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		var n json.Number
		if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
			return fmt.Errorf("the token's %s claim is not a number", name)
		}
	}
	return nil
}

// verify parses and checks the request's token: signature by a known key,
// HS256 only, issuer, audience, expiry, and the denylist when it is on.
func (t *tokenSessions) verify(r *http.Request) (*Claims, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return nil, fmt.Errorf("%w: the request carries no Authorization: Bearer token", ErrNoSession)
	}
	if err := numericTimes(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSession, err)
	}
	var c Claims
	if _, err := t.parser.ParseWithClaims(raw, &c, t.keyFor); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSession, err)
	}
	if c.Subject == "" || c.SID == "" || c.Login == nil {
		return nil, fmt.Errorf("%w: the token names no user, session or login time", ErrNoSession)
	}
	if err := validName("user", c.Subject); err != nil {
		return nil, fmt.Errorf("%w: the token's user breaks the limits", ErrNoSession)
	}
	if err := validCart(c.Cart); err != nil {
		return nil, fmt.Errorf("%w: the token's cart breaks the limits (%v)", ErrNoSession, err)
	}
	if t.now().After(c.Login.Add(t.lifetime)) {
		return nil, fmt.Errorf("%w: the login is older than %s, the longest a session lasts: log in again", ErrNoSession, t.lifetime)
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
	if len(c.Applied) > statelab.MaxIdempotencyKeys {
		return State{}, fmt.Errorf("%w: the token carries more than %d idempotency keys", ErrNoSession, statelab.MaxIdempotencyKeys)
	}
	return State{User: c.Subject, Cart: c.Cart, Since: c.Login.Unix(), Applied: c.Applied}, nil
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
