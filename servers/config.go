package servers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Variant names where a variant keeps its sessions.
type Variant string

// The three variants.
const (
	Memory Variant = "memory" // in this process's memory
	Redis  Variant = "redis"  // in a Redis every instance shares
	JWT    Variant = "jwt"    // in a signed token the client holds
)

// Variants lists every variant, in the order reports show them.
var Variants = []Variant{Memory, Redis, JWT}

// ParseVariant checks that s names a variant.
func ParseVariant(s string) (Variant, error) {
	for _, v := range Variants {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown variant %q (want memory, redis or jwt)", s)
}

// Config configures one server instance. Every instance of a variant must
// share the keys and the password; New fills in the defaults noted below.
type Config struct {
	// Variant is where sessions are kept. Required.
	Variant Variant
	// Name names the instance in every response. Default: the host name.
	Name string
	// Addr is the listen address. Default ":8080".
	Addr string
	// RedisAddr is the Redis of the redis variant and of the jwt denylist.
	// Default "127.0.0.1:6379".
	RedisAddr string
	// RedisTimeout bounds every Redis dial, read, write and pool wait, so an
	// outage costs this much, not seconds. Default 250ms.
	RedisTimeout time.Duration
	// Password is the one password every demo user has. Default "statelab".
	Password string
	// CookieKeys sign the session id cookie: the first signs, all verify.
	// Default: the built-in demo key, with a warning.
	CookieKeys [][]byte
	// JWTKeys sign and verify tokens by key id. Default: the built-in demo
	// key "demo", with a warning.
	JWTKeys []Key
	// JWTActive is the id of the key that signs new tokens. Default: the
	// first of JWTKeys.
	JWTActive string
	// KeysFile, when set, names a file of STATELAB_COOKIE_KEYS,
	// STATELAB_JWT_KEYS and STATELAB_JWT_ACTIVE lines that override the keys
	// above. It is read at start and again by Reload (on SIGHUP), so keys can
	// be rotated without a restart. A missing or empty file means the keys
	// above.
	KeysFile string
	// SessionTTL is how long a cookie session lives after its last change.
	// Default 30 minutes.
	SessionTTL time.Duration
	// TokenTTL is how long a token is valid after it is issued. Default 15
	// minutes.
	TokenTTL time.Duration
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
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger
}

// Key is a signing key with its id.
type Key struct {
	ID     string
	Secret []byte
}

// Built-in demo keys: every statelab instance that has no configured key uses
// these, so instances agree without setup. They are public, hence the warning.
var (
	DemoCookieKey = []byte("statelab-demo-cookie-key-NOT-SECRET-set-STATELAB_COOKIE_KEYS")
	DemoJWTKey    = Key{ID: "demo", Secret: []byte("statelab-demo-jwt-key-NOT-SECRET-set-STATELAB_JWT_KEYS")}
)

// minKeyLen is the shortest key accepted: HMAC-SHA256 keys shorter than this
// are guessable, even in a lab.
const minKeyLen = 16

// ParseCookieKeys parses "key1,key2,...": the first key signs, all verify.
func ParseCookieKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < minKeyLen {
			return nil, fmt.Errorf("cookie key %q is shorter than %d bytes", abbreviate(k), minKeyLen)
		}
		keys = append(keys, []byte(k))
	}
	if len(keys) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("no cookie key in %q", s)
	}
	return keys, nil
}

// ParseJWTKeys parses "kid:secret,kid:secret,...".
func ParseJWTKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, secret, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("jwt key %q is not kid:secret", abbreviate(part))
		}
		if len(secret) < minKeyLen {
			return nil, fmt.Errorf("jwt key %q: secret shorter than %d bytes", id, minKeyLen)
		}
		if seen[id] {
			return nil, fmt.Errorf("jwt key id %q given twice", id)
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: []byte(secret)})
	}
	if len(keys) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("no jwt key in %q", s)
	}
	return keys, nil
}

func validCookieName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

func abbreviate(s string) string {
	if len(s) > 6 {
		return s[:3] + "..."
	}
	return s
}

// withDefaults returns c with defaults filled in, and the warnings to log.
func (c Config) withDefaults() (Config, []string, error) {
	var warnings []string
	if _, err := ParseVariant(string(c.Variant)); err != nil {
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
	if c.Password == "" {
		c.Password = "statelab"
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 30 * time.Minute
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = 15 * time.Minute
	}
	if c.CookieName == "" {
		c.CookieName = CookieName
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
	switch c.Variant {
	case Memory, Redis:
		if len(c.CookieKeys) == 0 {
			c.CookieKeys = [][]byte{DemoCookieKey}
			*warnings = append(*warnings, "USING THE BUILT-IN DEMO COOKIE KEY: it is public, so anyone can sign session cookies for this server. Set STATELAB_COOKIE_KEYS anywhere but a lab.")
		}
	case JWT:
		if len(c.JWTKeys) == 0 {
			c.JWTKeys = []Key{DemoJWTKey}
			*warnings = append(*warnings, "USING THE BUILT-IN DEMO JWT KEY: it is public, so anyone can mint tokens for this server. Set STATELAB_JWT_KEYS anywhere but a lab.")
		}
		if c.JWTActive == "" {
			c.JWTActive = c.JWTKeys[0].ID
		}
		found := false
		for _, k := range c.JWTKeys {
			found = found || k.ID == c.JWTActive
		}
		if !found {
			return fmt.Errorf("active jwt key %q is not among the jwt keys", c.JWTActive)
		}
	}
	return nil
}

// readKeysFile returns c with the keys the file gives. Lines are NAME=value,
// for STATELAB_COOKIE_KEYS, STATELAB_JWT_KEYS and STATELAB_JWT_ACTIVE; blank
// lines and lines starting with # are skipped. A missing file changes
// nothing.
func (c Config) readKeysFile() (Config, error) {
	data, err := os.ReadFile(c.KeysFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("%s:%d: want NAME=value", c.KeysFile, i+1)
		}
		switch strings.TrimSpace(name) {
		case "STATELAB_COOKIE_KEYS":
			c.CookieKeys, err = ParseCookieKeys(value)
		case "STATELAB_JWT_KEYS":
			c.JWTKeys, err = ParseJWTKeys(value)
			if c.JWTActive != "" && !strings.Contains(string(data), "STATELAB_JWT_ACTIVE") {
				c.JWTActive = "" // the first of the new keys signs
			}
		case "STATELAB_JWT_ACTIVE":
			c.JWTActive = strings.TrimSpace(value)
		default:
			return c, fmt.Errorf("%s:%d: %q is not a key setting (want STATELAB_COOKIE_KEYS, STATELAB_JWT_KEYS or STATELAB_JWT_ACTIVE)", c.KeysFile, i+1, name)
		}
		if err != nil {
			return c, fmt.Errorf("%s:%d: %w", c.KeysFile, i+1, err)
		}
	}
	if c.JWTActive == "" && len(c.JWTKeys) > 0 {
		c.JWTActive = c.JWTKeys[0].ID
	}
	var ignored []string
	return c, c.checkKeys(&ignored)
}

// KeysSummary describes keys without revealing them: key ids, and for
// cookie keys the first bytes of their SHA-256.
func (c Config) KeysSummary() string {
	if c.Variant == JWT {
		var ids []string
		for _, k := range c.JWTKeys {
			id := k.ID
			if k.ID == c.JWTActive {
				id += " (signs)"
			}
			ids = append(ids, id)
		}
		return "jwt keys " + strings.Join(ids, ", ")
	}
	var fps []string
	for i, k := range c.CookieKeys {
		sum := sha256.Sum256(k)
		fp := hex.EncodeToString(sum[:4])
		if i == 0 {
			fp += " (signs)"
		}
		fps = append(fps, fp)
	}
	return "cookie keys " + strings.Join(fps, ", ")
}
