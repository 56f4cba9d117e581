package poll_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"statelab/internal/poll"
)

func TestUntil(t *testing.T) {
	gone := errors.New("the process exited")
	for _, tc := range []struct {
		name  string
		check func(n int) error
		calls int    // calls expected
		want  string // "" for success
	}{
		{"at once", func(int) error { return nil }, 1, ""},
		{"on the third call", func(n int) error {
			if n < 3 {
				return errors.New("not yet")
			}
			return nil
		}, 3, ""},
		{"stopped", func(n int) error {
			if n == 2 {
				return poll.Stop(gone)
			}
			return errors.New("not yet")
		}, 2, "the process exited"},
		{"never", func(n int) error { return errors.New("still down") }, -1, "not within 50ms: still down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A minute for what must succeed (a busy machine may take its
			// time between calls); 50 ms for what must run out.
			limit := time.Minute
			if tc.calls < 0 {
				limit = 50 * time.Millisecond
			}
			n := 0
			err := poll.Until(context.Background(), limit, time.Millisecond, func(context.Context) error {
				n++
				return tc.check(n)
			})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if tc.calls >= 0 && n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
		})
	}
}

func TestUntilContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := poll.Until(ctx, time.Minute, time.Millisecond, func(context.Context) error {
		if n++; n == 3 {
			cancel() // as Ctrl-C would, between two checks
		}
		return errors.New("not yet")
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestOK: the HTTP check holds on a 200, not on another status, and a
// malformed URL ends the wait at once.
func TestOK(t *testing.T) {
	status := http.StatusServiceUnavailable
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	}))
	defer ts.Close()
	ctx := context.Background()
	if err := poll.OK(nil, ts.URL)(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a 503: %v, want an error naming it", err)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	if err := poll.OK(nil, ts.URL)(ctx); err != nil {
		t.Errorf("a 200: %v", err)
	}
	calls := 0
	bad := poll.OK(nil, "http://[::1")
	err := poll.Until(ctx, time.Minute, 10*time.Millisecond, func(ctx context.Context) error { calls++; return bad(ctx) })
	if err == nil || calls != 1 {
		t.Errorf("a malformed URL: %v after %d checks, want an error at the first", err, calls)
	}
}
