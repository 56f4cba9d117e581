// Package memstore is a store.Backend in process memory: a map guarded by a
// mutex, expiry checked on read, a cleanup goroutine that Close stops, and
// a bound: past its most sessions it evicts the least recently used one.
// What it holds dies with the process, which is the memory variant's lesson.
package memstore

import (
	"container/list"
	"context"
	"sync"
	"time"

	"statelab/servers/store"
)

// DefaultMaxSessions is the bound of a store made with New: 50,000
// sessions of a few hundred bytes each.
const DefaultMaxSessions = 50_000

type entry struct {
	id     string
	data   []byte
	expiry time.Time
}

// Store is an in-memory store.Backend. The zero value is not usable; call New.
type Store struct {
	mu       sync.Mutex
	sessions map[string]*list.Element // of *entry
	lru      *list.List               // most recently used first
	max      int
	bytes    int64 // of the ids and data held, expired or not
	evicted  int64
	now      func() time.Time

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var _ store.Backend = (*Store)(nil)

// New returns a store of at most DefaultMaxSessions sessions that removes
// expired ones every cleanupEvery (a minute when zero or less). Close stops
// that cleanup.
func New(cleanupEvery time.Duration) *Store { return NewBounded(cleanupEvery, DefaultMaxSessions) }

// NewBounded is New with another bound: past max sessions (DefaultMaxSessions
// when zero or less) the least recently used session is evicted to make
// room, and counted in Stats.
func NewBounded(cleanupEvery time.Duration, max int) *Store {
	if cleanupEvery <= 0 {
		cleanupEvery = time.Minute
	}
	if max <= 0 {
		max = DefaultMaxSessions
	}
	s := &Store{
		sessions: make(map[string]*list.Element),
		lru:      list.New(),
		max:      max,
		now:      time.Now,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go s.cleanup(cleanupEvery)
	return s
}

// Find returns the data for id if it is there and not expired, and marks it
// used.
func (s *Store) Find(_ context.Context, id string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.sessions[id]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !s.now().Before(e.expiry) {
		s.remove(el)
		return nil, false, nil
	}
	s.lru.MoveToFront(el)
	return e.data, true, nil
}

// Commit stores a copy of data for id until expiry, evicting the least
// recently used session when the store is full.
func (s *Store) Commit(_ context.Context, id string, data []byte, expiry time.Time) error {
	cp := make([]byte, len(data))
	copy(cp, data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.sessions[id]; ok {
		e := el.Value.(*entry)
		s.bytes += int64(len(cp) - len(e.data))
		e.data, e.expiry = cp, expiry
		s.lru.MoveToFront(el)
		return nil
	}
	for len(s.sessions) >= s.max {
		s.remove(s.lru.Back())
		s.evicted++
	}
	s.sessions[id] = s.lru.PushFront(&entry{id: id, data: cp, expiry: expiry})
	s.bytes += int64(len(id) + len(cp))
	return nil
}

// Refresh stores a copy of data for id until expiry, only if id is held
// and not expired.
func (s *Store) Refresh(_ context.Context, id string, data []byte, expiry time.Time) (bool, error) {
	cp := make([]byte, len(data))
	copy(cp, data)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.sessions[id]
	if !ok || !time.Now().Before(el.Value.(*entry).expiry) {
		return false, nil
	}
	e := el.Value.(*entry)
	s.bytes += int64(len(cp) - len(e.data))
	e.data, e.expiry = cp, expiry
	s.lru.MoveToFront(el)
	return true, nil
}

// Delete removes id.
func (s *Store) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.sessions[id]; ok {
		s.remove(el)
	}
	return nil
}

// remove drops an element; the caller holds mu.
func (s *Store) remove(el *list.Element) {
	e := el.Value.(*entry)
	s.lru.Remove(el)
	delete(s.sessions, e.id)
	s.bytes -= int64(len(e.id) + len(e.data))
}

// Stats counts the sessions held and the bytes of their ids and data, from
// counters: it costs the same whatever the store holds. Sessions past
// their expiry count until a read or the cleanup removes them: they are
// held until then.
func (s *Store) Stats(context.Context) (store.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return store.Stats{Sessions: int64(len(s.sessions)), Bytes: s.bytes, Evicted: s.evicted, Max: int64(s.max)}, nil
}

// Close stops the cleanup goroutine. The store still answers afterwards.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Store) cleanup(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.deleteExpired()
		}
	}
}

func (s *Store) deleteExpired() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for el := s.lru.Back(); el != nil; {
		prev := el.Prev()
		if !now.Before(el.Value.(*entry).expiry) {
			s.remove(el)
		}
		el = prev
	}
}
