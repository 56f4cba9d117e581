package servers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"statelab"
)

// live holds an instance's open /live connections: a WebSocket each,
// pushing the user's session as it is now. They are state of the process
// (a socket), whatever the variant: they end with it.
type live struct {
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool // no new connection is taken
	max    int
	wg     sync.WaitGroup
	up     websocket.Upgrader
	every  time.Duration
}

func newLive(max int, every time.Duration) *live {
	return &live{
		conns: map[*websocket.Conn]struct{}{},
		max:   max,
		every: every,
		// CheckOrigin is the default: a page of another origin is
		// refused, as every write is.
		up: websocket.Upgrader{ReadBufferSize: 1 << 10, WriteBufferSize: 4 << 10, HandshakeTimeout: 5 * time.Second},
	}
}

func (l *live) add(c *websocket.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.conns) >= l.max {
		return false
	}
	l.conns[c] = struct{}{}
	l.wg.Add(1)
	return true
}

func (l *live) remove(c *websocket.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.conns[c]; ok {
		delete(l.conns, c)
		l.wg.Done()
	}
}

// closeAll ends every connection (with a close frame when polite) and
// refuses new ones, then waits for their handlers.
func (l *live) closeAll(polite bool) {
	l.mu.Lock()
	for c := range l.conns {
		if polite {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "instance shutting down"), time.Now().Add(time.Second))
		}
		c.Close()
	}
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
}

// serveLive is GET /live: a WebSocket that sends the user's session (user
// and cart, as /me says them) at once and then every LiveEvery, read anew
// each time, until the client or the instance goes.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) {
	base := context.WithoutCancel(r.Context()) // before any session read: each push reads afresh
	st, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		s.fail(w, r, badRequest("GET /live is a WebSocket: send Connection: Upgrade and Upgrade: websocket"))
		return
	}
	if s.live.full() {
		s.fail(w, r, &statusError{http.StatusServiceUnavailable, "this instance holds as many live connections as it may"})
		return
	}
	c, err := s.live.up.Upgrade(w, r, nil) // answers the client itself on failure
	if err != nil {
		return
	}
	if !s.live.add(c) {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too many live connections"), time.Now().Add(time.Second))
		c.Close()
		return
	}
	defer s.live.remove(c)
	defer c.Close()
	c.SetReadLimit(1 << 10)
	_ = c.SetReadDeadline(time.Time{}) // the server's ReadTimeout was for the request, not the connection
	gone := make(chan struct{})
	go func() { // the client says nothing; a read ends when it goes
		defer close(gone)
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}()
	t := time.NewTicker(s.live.every)
	defer t.Stop()
	for {
		body := statelab.Body{Instance: s.cfg.Name, Variant: string(s.cfg.Variant), User: st.User, Cart: nonNil(st.Cart)}
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.WriteJSON(body); err != nil {
			return
		}
		select {
		case <-gone:
			return
		case <-t.C:
		}
		if st, err = s.sessions.Current(r.WithContext(base)); err != nil {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "the session ended"), time.Now().Add(time.Second))
			return
		}
	}
}

func (l *live) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed || len(l.conns) >= l.max
}
