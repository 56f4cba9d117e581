package servers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"statelab"
)

// Config configures one server instance. Every instance of a variant must
// share the keys and the password; New fills in the defaults noted below.
type Config struct {
	// Variant is where sessions are kept. Required.
	Variant statelab.Variant
	// Name names the instance in every response. Default: the host name.
	Name string
	// Addr is the listen address. Default ":8080".
	Addr string
	// RedisAddr is the Redis of the redis variant and of the jwt denylist.
	// Default "127.0.0.1:6379".
	RedisAddr string
	// Sentinels, when set, are the Sentinels that know the Redis primary
	// named RedisMaster: the instance asks them where the primary is, and
	// follows a failover; RedisAddr is not used.
	Sentinels []string
	// RedisMaster is the name the Sentinels monitor the primary under.
	// Default "statelab".
	RedisMaster string
	// RedisWait, when positive, makes every session write wait until one
	// replica has acknowledged it (WAIT 1), for at most this long; past
	// it, 503. At most MaxRedisWait.
	RedisWait time.Duration
	// RedisTimeout bounds every Redis dial, read, write and pool wait, so an
	// outage costs this much, not seconds. Default 250ms.
	RedisTimeout time.Duration
	// Password is the one password every demo user has. Default "statelab".
	Password string
	// Keys sign session cookies (Keys.Cookie: the first signs, all verify)
	// and tokens (Keys.JWT, by key id; Keys.JWTActive signs, default the
	// first). Default: the built-in demo keys, with a warning.
	Keys statelab.Keys
	// KeysFile, when set, names a keys file (see statelab.ParseKeys) whose
	// settings override Keys. It is read at start and again by Reload (on
	// SIGHUP), so keys can be rotated without a restart. A missing or empty
	// file means Keys.
	KeysFile string
	// SessionTTL is how long a cookie session lives after its last change.
	// Default 30 minutes.
	SessionTTL time.Duration
	// TokenTTL is how long a token is valid after it is issued. Default 15
	// minutes.
	TokenTTL time.Duration
	// SessionLifetime is the longest a login lasts, however active its user:
	// a cookie session or a token is refused this long after its login.
	// Default 12 hours.
	SessionLifetime time.Duration
	// MaxSessions bounds the sessions a memory instance holds: past it, the
	// least recently used one is evicted (and counted in /stats). Default
	// 50,000.
	MaxSessions int
	// LoginRate is how many logins a second one client may make, after a
	// burst of LoginBurst at once; past it, 429. A client is the address
	// the balancer reports (see clientOf). 0 means the default, 100 a second
	// after a burst of 1000; a negative rate turns the limit off.
	LoginRate  float64
	LoginBurst int
	// CookieName is the session cookie's name. Default "statelab_session".
	// Browsers send a host's cookies to all its ports: variants served on one
	// host need different names to be used side by side in one browser.
	CookieName string
	// SecureCookies marks cookies Secure (HTTPS only). Default false: the lab
	// speaks plain HTTP, and a Secure cookie would silently not come back.
	SecureCookies bool
	// FailOpen decides what happens when Redis cannot answer: false (the
	// default) answers 503; true carries on without it: a redis session is
	// treated as logged out (401), and a token is accepted unchecked by the
	// denylist.
	FailOpen bool
	// Denylist makes the jwt variant record logged-out tokens in Redis and
	// refuse them, at the cost of a Redis lookup per request.
	Denylist bool
	// AnswerDelay, when positive, is how long the instance waits before it
	// handles each request of a user (every endpoint but /healthz and
	// /stats): a slow instance, for the least-conn scenario. At most
	// MaxAnswerDelay.
	AnswerDelay time.Duration
	// LiveEvery is how often a /live connection is sent the session anew.
	// Default 1s.
	LiveEvery time.Duration
	// MaxLive bounds the /live connections an instance holds; past it,
	// 503. Default 1000.
	MaxLive int
	// Crash is how the instance dies when a crash was armed (see
	// Server.ArmCrash): after a cart change is applied and before its
	// answer is written. Default: the server closes every connection and
	// listener at once, as a killed process would.
	Crash func()
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger
}

// Built-in demo keys: every statelab instance that has no configured key uses
// these, so instances agree without setup. They are public, hence the warning.
var (
	DemoCookieKey = []byte("statelab-demo-cookie-key-NOT-SECRET-set-STATELAB_COOKIE_KEYS")
	DemoJWTKey    = statelab.Key{ID: "demo", Secret: []byte("statelab-demo-jwt-key-NOT-SECRET-set-STATELAB_JWT_KEYS")}
)

func validCookieName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// withDefaults returns c with defaults filled in, and the warnings to log.
func (c Config) withDefaults() (Config, []string, error) {
	var warnings []string
	if _, err := statelab.ParseVariant(string(c.Variant)); err != nil {
		return c, nil, err
	}
	if c.Name == "" {
		c.Name = hostname()
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.RedisAddr == "" {
		c.RedisAddr = "127.0.0.1:6379"
	}
	if c.RedisTimeout <= 0 {
		c.RedisTimeout = 250 * time.Millisecond
	}
	if c.RedisMaster == "" {
		c.RedisMaster = "statelab"
	}
	if c.RedisWait < 0 || c.RedisWait > MaxRedisWait {
		return c, nil, fmt.Errorf("redis wait %s out of range: want 0 (no WAIT) to %s", c.RedisWait, MaxRedisWait)
	}
	if len(c.Sentinels) > maxSentinels {
		return c, nil, fmt.Errorf("%d Sentinels: at most %d", len(c.Sentinels), maxSentinels)
	}
	for _, a := range c.Sentinels {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			return c, nil, fmt.Errorf("Sentinel address %q: want host:port", a)
		}
	}
	if c.Password == "" {
		c.Password = statelab.DemoPassword
	}
	for _, d := range []struct {
		name string
		ttl  time.Duration
	}{{"session TTL", c.SessionTTL}, {"token TTL", c.TokenTTL}} {
		if d.ttl > 0 && d.ttl < time.Second {
			return c, nil, fmt.Errorf("%s %s: want at least 1s (cookies and tokens count their life in seconds)", d.name, d.ttl)
		}
	}
	if c.AnswerDelay > MaxAnswerDelay {
		return c, nil, fmt.Errorf("answer delay %s: at most %s", c.AnswerDelay, MaxAnswerDelay)
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 30 * time.Minute
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = 15 * time.Minute
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.LiveEvery <= 0 {
		c.LiveEvery = time.Second
	}
	if c.MaxLive <= 0 {
		c.MaxLive = 1000
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 50_000
	}
	if c.LoginRate == 0 {
		c.LoginRate = 100
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = 1000
	}
	if c.CookieName == "" {
		c.CookieName = statelab.SessionCookie
	}
	if !validCookieName(c.CookieName) {
		return c, nil, fmt.Errorf("cookie name %q: want letters, digits, dashes or underscores", c.CookieName)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if err := c.checkKeys(&warnings); err != nil {
		return c, nil, err
	}
	return c, warnings, nil
}

// checkKeys fills in the demo keys where none are given and checks that the
// active jwt key is one of the keys.
func (c *Config) checkKeys(warnings *[]string) error {
	k := &c.Keys
	for _, key := range k.Cookie {
		if len(key) < statelab.MinKeyLen {
			return fmt.Errorf("a cookie key is %d bytes: want at least %d", len(key), statelab.MinKeyLen)
		}
	}
	for _, key := range k.JWT {
		if len(key.Secret) < statelab.MinKeyLen {
			return fmt.Errorf("jwt key %q is %d bytes: want at least %d", key.ID, len(key.Secret), statelab.MinKeyLen)
		}
	}
	// A variant whose credential is a bearer token needs token keys; the
	// others sign (and the cookie variant encrypts) cookies.
	switch {
	case !c.Variant.Describe().Bearer:
		if len(k.Cookie) == 0 {
			k.Cookie = [][]byte{DemoCookieKey}
			*warnings = append(*warnings, "USING THE BUILT-IN DEMO COOKIE KEY: it is public, so anyone can sign session cookies for this server. Set STATELAB_COOKIE_KEYS anywhere but a lab.")
		}
	default:
		if len(k.JWT) == 0 {
			k.JWT = []statelab.Key{DemoJWTKey}
			*warnings = append(*warnings, "USING THE BUILT-IN DEMO JWT KEY: it is public, so anyone can mint tokens for this server. Set STATELAB_JWT_KEYS anywhere but a lab.")
		}
		if k.JWTActive == "" {
			k.JWTActive = k.JWT[0].ID
		}
		found := false
		for _, key := range k.JWT {
			found = found || key.ID == k.JWTActive
		}
		if !found {
			return fmt.Errorf("active jwt key %q is not among the jwt keys", k.JWTActive)
		}
	}
	return nil
}

// readKeysFile returns c with the keys the file sets put over c.Keys. A
// missing file changes nothing.
func (c Config) readKeysFile() (Config, error) {
	data, err := os.ReadFile(c.KeysFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	k, err := statelab.ParseKeys(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", c.KeysFile, err)
	}
	c.Keys = k.Over(c.Keys)
	var ignored []string
	return c, c.checkKeys(&ignored)
}

// KeysSummary describes keys without revealing them: key ids, and for
// cookie keys the first bytes of their SHA-256.
func (c Config) KeysSummary() string {
	if c.Variant.Describe().Bearer {
		var ids []string
		for _, k := range c.Keys.JWT {
			id := k.ID
			if k.ID == c.Keys.JWTActive {
				id += " (signs)"
			}
			ids = append(ids, id)
		}
		return "jwt keys " + strings.Join(ids, ", ")
	}
	var fps []string
	for i, k := range c.Keys.Cookie {
		fp := fingerprint(k)
		if i == 0 {
			fp += " (signs)"
		}
		fps = append(fps, fp)
	}
	return "cookie keys " + strings.Join(fps, ", ")
}

// SigningKey names the key that signs: its id for tokens, its fingerprint
// for cookies.
func (c Config) SigningKey() string {
	if c.Variant.Describe().Bearer {
		return c.Keys.JWTActive
	}
	if len(c.Keys.Cookie) == 0 {
		return ""
	}
	return fingerprint(c.Keys.Cookie[0])
}

// fingerprint is the first bytes of a key's SHA-256, in hex: enough to tell
// keys apart, nothing to sign with.
func fingerprint(k []byte) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:4])
}
