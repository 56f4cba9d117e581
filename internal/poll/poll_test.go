package poll_test

import (
	"context"
	"errors"
	"strings"
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
			n := 0
			err := poll.Until(context.Background(), 50*time.Millisecond, time.Millisecond, func(context.Context) error {
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
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	err := poll.Until(ctx, time.Minute, time.Millisecond, func(context.Context) error { return errors.New("not yet") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
