package memstore_test

import (
	"testing"
	"time"

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
