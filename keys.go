package statelab

import (
	"fmt"
	"strings"
)

// Key is a token signing key with its id (kid).
type Key struct {
	ID     string
	Secret []byte
}

// MinKeyLen is the shortest key accepted, in bytes: RFC 7518 (section 3.2)
// requires an HMAC-SHA256 key of at least 256 bits.
const MinKeyLen = 32

// Keys are the signing keys of an instance, as its keys file gives them. A
// nil Cookie or JWT means the file does not set them.
type Keys struct {
	// Cookie sign session cookies: the first signs, all verify
	// (STATELAB_COOKIE_KEYS).
	Cookie [][]byte
	// JWT sign and verify tokens by key id (STATELAB_JWT_KEYS).
	JWT []Key
	// JWTActive is the id of the key that signs new tokens; empty means the
	// first of JWT (STATELAB_JWT_ACTIVE).
	JWTActive string
}

// The settings of a keys file, one per line as NAME=value.
const (
	keyCookie    = "STATELAB_COOKIE_KEYS"
	keyJWT       = "STATELAB_JWT_KEYS"
	keyJWTActive = "STATELAB_JWT_ACTIVE"
)

// ParseKeys reads a keys file: lines STATELAB_COOKIE_KEYS=key,key,
// STATELAB_JWT_KEYS=kid:secret,kid:secret and STATELAB_JWT_ACTIVE=kid;
// blank lines and lines starting with # are skipped. Errors name the line.
func ParseKeys(data []byte) (Keys, error) {
	var k Keys
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return Keys{}, fmt.Errorf("line %d: want NAME=value", i+1)
		}
		var err error
		switch strings.TrimSpace(name) {
		case keyCookie:
			k.Cookie, err = ParseCookieKeys(value)
		case keyJWT:
			k.JWT, err = ParseJWTKeys(value)
		case keyJWTActive:
			k.JWTActive = strings.TrimSpace(value)
		default:
			err = fmt.Errorf("%q is not a key setting (want %s, %s or %s)", abbreviate(strings.TrimSpace(name)), keyCookie, keyJWT, keyJWTActive)
		}
		if err != nil {
			return Keys{}, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return k, nil
}

// Format writes k as a keys file that ParseKeys reads back. No keys make an
// empty file: the instance's configured keys.
func (k Keys) Format() []byte {
	var b strings.Builder
	if k.Cookie != nil {
		parts := make([]string, len(k.Cookie))
		for i, c := range k.Cookie {
			parts[i] = string(c)
		}
		fmt.Fprintf(&b, "%s=%s\n", keyCookie, strings.Join(parts, ","))
	}
	if k.JWT != nil {
		parts := make([]string, len(k.JWT))
		for i, j := range k.JWT {
			parts[i] = j.ID + ":" + string(j.Secret)
		}
		fmt.Fprintf(&b, "%s=%s\n", keyJWT, strings.Join(parts, ","))
	}
	if k.JWTActive != "" {
		fmt.Fprintf(&b, "%s=%s\n", keyJWTActive, k.JWTActive)
	}
	return []byte(b.String())
}

// Over returns base with what k sets put over it: the keys a file gives
// replace the configured ones. Keys for tokens without an active id make
// their first key sign.
func (k Keys) Over(base Keys) Keys {
	out := base
	if k.Cookie != nil {
		out.Cookie = k.Cookie
	}
	if k.JWT != nil {
		out.JWT, out.JWTActive = k.JWT, ""
	}
	if k.JWTActive != "" {
		out.JWTActive = k.JWTActive
	}
	return out
}

// Empty reports whether k sets nothing.
func (k Keys) Empty() bool { return k.Cookie == nil && k.JWT == nil && k.JWTActive == "" }

// ParseCookieKeys parses "key1,key2,...": the first key signs, all verify.
func ParseCookieKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if len(k) < MinKeyLen {
			return nil, fmt.Errorf("cookie key %q is %d bytes: want at least %d (a 256-bit key, as RFC 7518 section 3.2 asks of HMAC-SHA256)", abbreviate(k), len(k), MinKeyLen)
		}
		keys = append(keys, []byte(k))
	}
	if len(keys) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("no cookie key in %q", abbreviate(s))
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
		if len(secret) < MinKeyLen {
			return nil, fmt.Errorf("jwt key %q: its secret is %d bytes: want at least %d (RFC 7518 section 3.2: an HS256 key of at least 256 bits)", abbreviate(id), len(secret), MinKeyLen)
		}
		if seen[id] {
			return nil, fmt.Errorf("jwt key id %q given twice", abbreviate(id))
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: []byte(secret)})
	}
	if len(keys) == 0 && strings.TrimSpace(s) != "" {
		return nil, fmt.Errorf("no jwt key in %q", abbreviate(s))
	}
	return keys, nil
}

// abbreviate shows the start of a value that may be a secret.
func abbreviate(s string) string {
	if len(s) > 6 {
		return s[:3] + "..."
	}
	return s
}
