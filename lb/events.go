package lb

import (
	"crypto/rand"
	"sync"
	"time"
)

// hub keeps the latest events and fans new ones out to subscribers. A
// subscriber that cannot keep up is dropped: its stream ends, and a client
// that reconnects with Last-Event-ID (as browsers do) gets what it missed
// from the kept events. It never slows the balancer down.
type hub struct {
	mu     sync.Mutex
	nextID int64
	recent []Event // ring of the latest events
	size   int
	subs   map[chan Event]int64 // each subscriber's place in line (oldest first)
	seq    int64
	closed bool
	// epoch names this balancer process's numbering of events: a client
	// that sees another one on the same address knows the ids restarted.
	epoch string
}

func newHub(size int) *hub {
	return &hub{size: size, subs: map[chan Event]int64{}, epoch: rand.Text()[:12]}
}

func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	ev.ID = h.nextID
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	h.recent = append(h.recent, ev)
	if len(h.recent) > h.size {
		h.recent = h.recent[len(h.recent)-h.size:]
	}
	for c := range h.subs {
		select {
		case c <- ev:
		default:
			// The subscriber is behind: end its stream rather than wait.
			delete(h.subs, c)
			close(c)
		}
	}
}

// since returns the kept events with an id greater than id.
func (h *hub) since(id int64) []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for _, ev := range h.recent {
		if ev.ID > id {
			out = append(out, ev)
		}
	}
	return out
}

// maxSubscribers bounds the event streams open at once. A new one past it
// ends the oldest: tabs left open (each status page holds a stream) never
// lock out the runner that needs the events, and the stream ended
// reconnects from the last event it saw (browsers and api.Client do), so
// nobody misses an event the balancer keeps.
const maxSubscribers = 64

// subscribe returns a channel of new events, the id of the last event
// published before it, and a function that ends the subscription. The
// channel is closed when the hub closes, or when maxSubscribers newer
// streams have come since.
func (h *hub) subscribe() (<-chan Event, int64, func()) {
	c := make(chan Event, 256)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(c)
		return c, h.nextID, func() {}
	}
	if len(h.subs) >= maxSubscribers {
		var oldest chan Event
		for s, at := range h.subs {
			if oldest == nil || at < h.subs[oldest] {
				oldest = s
			}
		}
		delete(h.subs, oldest)
		close(oldest)
	}
	h.seq++
	h.subs[c] = h.seq
	return c, h.nextID, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.subs {
		delete(h.subs, c)
		close(c)
	}
}
