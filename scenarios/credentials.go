package scenarios

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"statelab"
)

// What a user does with its credential beyond using it: log out and keep a
// copy, replay it, be impersonated with a forged one, read its token.

// judgeCredential says what an answer to a replayed or forged credential
// meant: refused (good), accepted for the user it names (bad), or someone
// else's session.
func (u *User) judgeCredential(r Response, accepted Outcome) Outcome {
	switch {
	case r.Err != nil || r.Status >= 500 || r.Status == 0:
		return Unavailable
	case r.Status == http.StatusUnauthorized:
		return Refused
	case r.Status != http.StatusOK:
		return Unavailable
	case r.Body.User != u.Name:
		return WrongUser
	}
	return accepted
}

// Logout logs out, keeping the credential held before for Replay.
func (u *User) Logout(ctx context.Context) Response {
	u.savedCookies = slices.Clone(u.cookies)
	u.savedToken = u.token
	r := u.do(ctx, http.MethodPost, "/logout", struct{}{}) // an empty JSON object: writes are JSON
	u.report(u, "POST", "/logout", r, "")
	return r
}

// Replay puts back the credential held before logout, as someone who copied
// it would, and asks who it is: ReplayAccepted means the old credential
// still works, Refused that it was turned away.
func (u *User) Replay(ctx context.Context) (Outcome, Response) {
	u.cookies = slices.Clone(u.savedCookies)
	for i := range u.cookies {
		u.cookies[i].expires = time.Time{} // a copy is sent whatever a browser would do
	}
	u.token = u.savedToken
	r := u.do(ctx, http.MethodGet, "/me", nil)
	o := u.judgeCredential(r, ReplayAccepted)
	u.report(u, "GET", "/me (replayed)", r, o)
	return o, r
}

// SessionCookie returns the name of the user's session cookie, as its jar
// holds it, or of any it held before logging out.
func (u *User) SessionCookie() string {
	for _, c := range append(slices.Clone(u.cookies), u.savedCookies...) {
		if strings.HasPrefix(c.name, statelab.SessionCookie) {
			return c.name
		}
	}
	return statelab.SessionCookie
}

// SessionCookieValue is the value of the session cookie the user's jar
// holds now ("" when none).
func (u *User) SessionCookieValue() string {
	for _, c := range u.cookies {
		if strings.HasPrefix(c.name, statelab.SessionCookie) {
			return c.value
		}
	}
	return ""
}

// As sends GET /me with a credential someone else made for this user: a
// cookie (name, value) or a bearer token. ForgeryAccepted means the server
// took it for this user, Refused that it was turned away. The user's own
// credentials are not touched.
func (u *User) As(ctx context.Context, cookieName, cookieValue, token string) (Outcome, Response) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base.JoinPath("/me").String(), nil)
	if err != nil {
		return Unavailable, Response{Err: err}
	}
	if cookieValue != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: cookieValue})
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := u.transport.RoundTrip(req)
	r := Response{Took: time.Since(start), Err: err, CredBytes: credBytes(req)}
	if err == nil {
		r.Status, r.Instance = resp.StatusCode, resp.Header.Get(statelab.InstanceHeader)
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r.Body)
		resp.Body.Close()
	}
	o := u.judgeCredential(r, ForgeryAccepted)
	u.report(u, "GET", "/me (forged)", r, o)
	return o, r
}

// expiry reads the exp claim of a JWT, as any holder can: its payload is
// base64, not encrypted. Zero when there is none.
func expiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return time.Time{}
	}
	secs, err := c.Exp.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, int64(secs*float64(time.Second)))
}

// TokenPayload is the JSON payload of the token the user holds, as anyone
// holding it can read it ("" when none).
func (u *User) TokenPayload() string {
	parts := strings.Split(u.token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	return string(payload)
}

// TokenExpiry is when the token the user holds expires (zero when none).
func (u *User) TokenExpiry() time.Time { return u.tokenExp }

// SavedExpiry is when the copy of the credential the user kept at logout
// expires: its token's expiry, or its session cookie's Max-Age counted from
// when the cookie was set (zero when it says none).
func (u *User) SavedExpiry() time.Time {
	if u.savedToken != "" {
		return expiry(u.savedToken)
	}
	for _, c := range u.savedCookies {
		if !strings.HasPrefix(c.name, statelab.AffinityCookie) {
			return c.expires
		}
	}
	return time.Time{}
}
