package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"statelab"
)

// live is a user's open /live connection: a WebSocket through the
// balancer, which the instance that took it pushes the session on.
type live struct {
	conn     *websocket.Conn
	instance string
	dropped  chan struct{} // closed when the connection ends
}

// Connect opens the user's /live connection (closing any it had) and
// judges its first message as a probe judges GET /me: the connection is
// kept when it says the user and its cart. A refused handshake is judged
// by its status, as a 401 to GET /me would be.
func (u *User) Connect(ctx context.Context) (Outcome, Response) {
	u.CloseLive()
	ws := strings.Replace(u.base.JoinPath("/live").String(), "http", "ws", 1)
	header := http.Header{}
	if h := cookieHeader(u.cookies); h != "" {
		header.Set("Cookie", h)
	}
	if u.token != "" {
		header.Set("Authorization", "Bearer "+u.token)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 4 << 10, WriteBufferSize: 1 << 10}
	start := time.Now()
	c, resp, err := d.DialContext(ctx, ws, header)
	r := Response{Took: time.Since(start)}
	if resp != nil {
		u.setCookies(resp)
		r.Status = resp.StatusCode
		r.Instance = resp.Header.Get(statelab.InstanceHeader)
		r.Repinned = resp.Header.Get(statelab.RepinnedHeader)
		if err != nil {
			// A refused handshake says why, as any answer does: a 503
			// of a store that timed out is judged as GET /me's would be.
			_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r.Body)
		}
		resp.Body.Close()
	}
	if err != nil {
		if !errors.Is(err, websocket.ErrBadHandshake) {
			r.Err = err
		}
		o := u.judge(&r)
		u.report(u, "GET", "/live", r, o)
		return o, r
	}
	c.SetReadLimit(64 << 10)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := c.ReadJSON(&r.Body); err != nil {
		c.Close()
		r.Err = err
		o := u.judge(&r)
		u.report(u, "GET", "/live", r, o)
		return o, r
	}
	_ = c.SetReadDeadline(time.Time{})
	r.Status = http.StatusOK // the first message, read as GET /me's answer
	if r.Body.Instance != "" {
		r.Instance, u.Instance = r.Body.Instance, r.Body.Instance
	}
	l := &live{conn: c, instance: r.Instance, dropped: make(chan struct{})}
	go func() {
		defer close(l.dropped)
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}()
	u.live = l
	o := u.judge(&r)
	u.report(u, "GET", "/live", r, o)
	return o, r
}

// Dropped is closed when the user's live connection ends; nil when it has
// none.
func (u *User) Dropped() <-chan struct{} {
	if u.live == nil {
		return nil
	}
	return u.live.dropped
}

// LiveInstance is the instance the user's live connection is held by.
func (u *User) LiveInstance() string {
	if u.live == nil {
		return ""
	}
	return u.live.instance
}

// CloseLive closes the user's live connection, if it has one.
func (u *User) CloseLive() {
	if u.live == nil {
		return
	}
	u.live.conn.Close()
	<-u.live.dropped
	u.live = nil
}
