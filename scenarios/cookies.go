package scenarios

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"statelab"
)

// The cookies a user keeps, as a browser would, and what its credential
// weighs in a request.

// cookie is one cookie of the jar; expires, when set, is when the browser
// forgets it (Max-Age).
type cookie struct {
	name, value string
	expires     time.Time
}

// cookieHeader is what the user's browser would send in Cookie: every
// cookie that has not expired.
func cookieHeader(cs []cookie) string {
	var b strings.Builder
	now := time.Now()
	for _, c := range cs {
		if !c.expires.IsZero() && now.After(c.expires) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.name)
		b.WriteByte('=')
		b.WriteString(c.value)
	}
	return b.String()
}

// setCookies applies a response's Set-Cookie headers, as a browser does: a
// cookie replaces the one of the same name, one that has expired (the way
// servers delete cookies) is dropped, and one too large to keep is ignored,
// so the old one stays.
func (u *User) setCookies(resp *http.Response) {
	for _, c := range resp.Cookies() {
		if len(c.Name)+1+len(c.Value) > statelab.MaxCookieBytes {
			continue
		}
		i := slices.IndexFunc(u.cookies, func(have cookie) bool { return have.name == c.Name })
		gone := c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now()))
		var expires time.Time
		if c.MaxAge > 0 {
			expires = time.Now().Add(time.Duration(c.MaxAge) * time.Second)
		}
		switch {
		case gone && i >= 0:
			u.cookies = slices.Delete(u.cookies, i, i+1)
		case gone:
		case i >= 0:
			u.cookies[i].value, u.cookies[i].expires = c.Value, expires
		default:
			u.cookies = append(u.cookies, cookie{c.Name, c.Value, expires})
		}
	}
}

// credBytes is the size of the credential a request carries: its
// Authorization header and the session's part of its Cookie header, as
// "Name: value" lines. The balancer's routing cookie is left out: it pins
// a user to an instance and says nothing of who the user is.
func credBytes(req *http.Request) int {
	n := 0
	if v := req.Header.Get("Authorization"); v != "" {
		n += len("Authorization: ") + len(v)
	}
	var session []string
	for _, c := range req.Cookies() {
		if !strings.HasPrefix(c.Name, statelab.AffinityCookie) {
			session = append(session, c.Name+"="+c.Value)
		}
	}
	if len(session) > 0 {
		n += len("Cookie: ") + len(strings.Join(session, "; "))
	}
	return n
}
