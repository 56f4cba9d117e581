package servers

import (
	"container/list"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// loginLimiter is a token bucket per client: each client may log in Burst
// times at once, then Rate times a second. It remembers at most maxClients
// clients, forgetting the one heard from least recently: the bound holds
// whatever addresses arrive, and the session store's own bound holds
// whatever gets past.
type loginLimiter struct {
	rate  float64 // tokens a second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*list.Element // of *bucket
	lru     *list.List
}

type bucket struct {
	client string
	tokens float64
	at     time.Time
}

// maxClients bounds the clients a limiter remembers.
const maxClients = 10_000

func newLoginLimiter(rate float64, burst int, now func() time.Time) *loginLimiter {
	if rate <= 0 {
		return nil // no limit
	}
	return &loginLimiter{rate: rate, burst: float64(max(burst, 1)), now: now, clients: map[string]*list.Element{}, lru: list.New()}
}

// allow takes a token of client's, and says how long to wait when there is
// none.
func (l *loginLimiter) allow(client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.clients[client]
	if !ok {
		if l.lru.Len() >= maxClients {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.clients, old.Value.(*bucket).client)
		}
		el = l.lru.PushFront(&bucket{client: client, tokens: l.burst, at: now})
		l.clients[client] = el
	}
	l.lru.MoveToFront(el)
	b := el.Value.(*bucket)
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// clientOf names the client of a request for the limiter: the address the
// balancer reports in X-Forwarded-For (its last entry: the balancer sets it)
// when the request comes from a loopback or private address, as the
// balancer's do; else the peer's address. Every user of the lab reaches the
// instances through the balancer, so its peer address is the balancer's.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsPrivate()) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" && len(last) <= 64 {
				return last
			}
		}
	}
	return host
}
