package memstore_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"statelab/servers/store"
	"statelab/servers/store/memstore"
	"statelab/servers/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend {
		s := memstore.New(10 * time.Millisecond)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestCloseTwice(t *testing.T) {
	s := memstore.New(0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBound: past its bound the store evicts the least recently used
// session, counts it, and its figures stay those of what it holds.
func TestBound(t *testing.T) {
	s := memstore.NewBounded(time.Minute, 3)
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{"a", "b", "c"} {
		if err := s.Commit(ctx, id, []byte("data"), exp); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, _ := s.Find(ctx, "a"); !found { // a is now the most recently used
		t.Fatal("a not found")
	}
	if err := s.Commit(ctx, "d", []byte("data"), exp); err != nil { // evicts b
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, found, _ := s.Find(ctx, id); found != want {
			t.Errorf("%s found: %v, want %v", id, found, want)
		}
	}
	st, _ := s.Stats(ctx)
	if want := (store.Stats{Sessions: 3, Bytes: 3 * 5, Evicted: 1, Max: 3}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}
