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
// pushing the user's session (memory and redis read it anew each time; jwt
// and cookie can only repeat the credential of the handshake). They are
// state of the process (a socket), whatever the variant: they end with it.
type live struct {
	mu     sync.Mutex
	conns  map[*websocket.Conn]string // the user each is for
	users  map[string]int             // open connections per user
	closed bool                       // no new connection is taken
	max    int
	wg     sync.WaitGroup
	up     websocket.Upgrader
	every  time.Duration
}

func newLive(max int, every time.Duration) *live {
	return &live{
		conns: map[*websocket.Conn]string{},
		users: map[string]int{},
		max:   max,
		every: every,
		// CheckOrigin is the default: a page of another origin is
		// refused, as every write is.
		up: websocket.Upgrader{ReadBufferSize: 1 << 10, WriteBufferSize: 4 << 10, HandshakeTimeout: 5 * time.Second},
	}
}

// maxLivePerUser bounds one user's open connections on an instance, so
// that one login cannot take every slot.
const maxLivePerUser = 4

// Pings keep a connection's peer honest: one that answers no ping within
// livePongWait is gone, and its slot is freed.
const (
	livePingEvery = 10 * time.Second
	livePongWait  = 30 * time.Second
)

// room says why a connection for user cannot be taken, or "".
func (l *live) room(user string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed || len(l.conns) >= l.max:
		return "this instance holds as many live connections as it may"
	case l.users[user] >= maxLivePerUser:
		return "this user holds as many live connections as one user may"
	}
	return ""
}

func (l *live) add(c *websocket.Conn, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.conns) >= l.max || l.users[user] >= maxLivePerUser {
		return false
	}
	l.conns[c] = user
	l.users[user]++
	l.wg.Add(1)
	return true
}

func (l *live) remove(c *websocket.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if user, ok := l.conns[c]; ok {
		delete(l.conns, c)
		if l.users[user]--; l.users[user] <= 0 {
			delete(l.users, user)
		}
		l.wg.Done()
	}
}

// closeAll refuses new connections and ends every open one (with a close
// frame, when polite, that each peer has one second in all to take), then
// waits for their handlers.
func (l *live) closeAll(polite bool) {
	l.mu.Lock()
	l.closed = true
	conns := make([]*websocket.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	deadline := time.Now().Add(time.Second)
	for _, c := range conns {
		if polite {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "instance shutting down"), deadline)
		}
		c.Close()
	}
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
	if why := s.live.room(st.User); why != "" {
		s.fail(w, r, &statusError{http.StatusServiceUnavailable, why})
		return
	}
	// The upgrade writes its own answer: the headers set so far (the
	// instance's name, a renewed session cookie) go with it.
	c, err := s.live.up.Upgrade(w, r, w.Header().Clone()) // answers the client itself on failure
	if err != nil {
		return
	}
	if !s.live.add(c, st.User) {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too many live connections"), time.Now().Add(time.Second))
		c.Close()
		return
	}
	defer s.live.remove(c)
	defer c.Close()
	c.SetReadLimit(1 << 10)
	// The server's ReadTimeout was for the request; from now on a peer
	// must answer pings.
	_ = c.SetReadDeadline(time.Now().Add(livePongWait))
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(livePongWait)) })
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
	ping := time.NewTicker(livePingEvery)
	defer ping.Stop()
	for {
		body := statelab.Body{Instance: s.cfg.Name, Variant: string(s.cfg.Variant), User: st.User, Cart: nonNil(st.Cart)}
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.WriteJSON(body); err != nil {
			return
		}
		for due := false; !due; {
			select {
			case <-gone:
				return
			case <-ping.C:
				if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
					return
				}
			case <-t.C:
				due = true
			}
		}
		if st, err = s.sessions.Current(r.WithContext(base)); err != nil {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "the session ended"), time.Now().Add(time.Second))
			return
		}
	}
}
