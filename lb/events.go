package lb

import (
	"fmt"
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
	subs   map[chan Event]struct{}
	closed bool
}

func newHub(size int) *hub {
	return &hub{size: size, subs: map[chan Event]struct{}{}}
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

// maxSubscribers bounds the event streams open at once.
const maxSubscribers = 64

// subscribe returns a channel of new events and a function that ends the
// subscription. The channel is closed when the hub closes.
func (h *hub) subscribe() (<-chan Event, func(), error) {
	c := make(chan Event, 256)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(c)
		return c, func() {}, nil
	}
	if len(h.subs) >= maxSubscribers {
		return nil, nil, fmt.Errorf("%d event streams are open, the most the balancer keeps", maxSubscribers)
	}
	h.subs[c] = struct{}{}
	return c, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
	}, nil
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
