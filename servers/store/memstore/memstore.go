// Package memstore is a store.Backend in process memory: a map guarded by a
// RWMutex, expiry checked on read, and a cleanup goroutine that Close stops.
// What it holds dies with the process, which is the memory variant's lesson.
package memstore

import (
	"context"
	"sync"
	"time"

	"statelab/servers/store"
)

type entry struct {
	data   []byte
	expiry time.Time
}

// Store is an in-memory store.Backend. The zero value is not usable; call New.
type Store struct {
	mu       sync.RWMutex
	sessions map[string]entry
	now      func() time.Time

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

var _ store.Backend = (*Store)(nil)

// New returns a store that removes expired sessions every cleanupEvery
// (a minute when zero or less). Close stops that cleanup.
func New(cleanupEvery time.Duration) *Store {
	if cleanupEvery <= 0 {
		cleanupEvery = time.Minute
	}
	s := &Store{
		sessions: make(map[string]entry),
		now:      time.Now,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go s.cleanup(cleanupEvery)
	return s
}

// Find returns the data for id if it is there and not expired.
func (s *Store) Find(_ context.Context, id string) ([]byte, bool, error) {
	s.mu.RLock()
	e, ok := s.sessions[id]
	s.mu.RUnlock()
	if !ok || !s.now().Before(e.expiry) {
		return nil, false, nil
	}
	return e.data, true, nil
}

// Commit stores a copy of data for id until expiry.
func (s *Store) Commit(_ context.Context, id string, data []byte, expiry time.Time) error {
	cp := make([]byte, len(data))
	copy(cp, data)
	s.mu.Lock()
	s.sessions[id] = entry{data: cp, expiry: expiry}
	s.mu.Unlock()
	return nil
}

// Delete removes id.
func (s *Store) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
	return nil
}

// Stats counts live sessions and the bytes of their ids and data.
func (s *Store) Stats(context.Context) (store.Stats, error) {
	now := s.now()
	var st store.Stats
	s.mu.RLock()
	for id, e := range s.sessions {
		if now.Before(e.expiry) {
			st.Sessions++
			st.Bytes += int64(len(id) + len(e.data))
		}
	}
	s.mu.RUnlock()
	return st, nil
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
	for id, e := range s.sessions {
		if !now.Before(e.expiry) {
			delete(s.sessions, id)
		}
	}
	s.mu.Unlock()
}
