// Package redistest gives tests a real Redis. Outside CI a test is skipped when
// redis-server is not on PATH; under CI (CI=true) that absence fails the test,
// so that Redis-backed behaviour is always checked where it counts.
package redistest

import (
	"context"
	"errors"
	"os"
	"testing"

	"statelab/internal/redisserver"
)

// Start starts a redis-server for the test and stops it when the test ends.
func Start(tb testing.TB, opts redisserver.Options) *redisserver.Server {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	srv, err := redisserver.Start(context.Background(), opts)
	if errors.Is(err, redisserver.ErrNotFound) {
		Absent(tb, "redis-server is not on PATH (apt-get install redis-server)")
	}
	if err != nil {
		tb.Fatalf("start redis: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// Absent skips the test because something it needs is missing, or fails it
// when running under CI, where everything must be there.
func Absent(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("under CI=true this test must run, but %s", why)
	}
	tb.Skipf("skipped: %s", why)
}
