// Package poll waits for a condition, with a context and a limit: the one
// way statelab polls a process, a container, a balancer or a Redis until it
// is ready.
package poll

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// stop marks an error that ends the wait at once (see Stop).
type stop struct{ err error }

func (s stop) Error() string { return s.err.Error() }
func (s stop) Unwrap() error { return s.err }

// Stop wraps err so that Until gives up at once and returns it: the thing
// waited for can no longer happen (the process exited, say).
func Stop(err error) error { return stop{err} }

// Until calls check every interval until it returns nil, returns an error
// made with Stop, ctx ends, or limit passes. check says, in the error it
// returns, why the condition does not hold yet; the last such error is in
// the one Until returns after the limit. check gets a context that ends at
// the limit, so that what it calls is bounded too.
func Until(ctx context.Context, limit, interval time.Duration, check func(ctx context.Context) error) error {
	if interval <= 0 {
		interval = 10 * time.Millisecond
	}
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var last error
	for {
		err := check(wctx)
		if err == nil {
			return nil
		}
		var s stop
		if errors.As(err, &s) {
			return s.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wctx.Err() == nil || last == nil {
			last = err
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wctx.Done():
			return fmt.Errorf("not within %s: %w", limit, last)
		case <-timer.C:
		}
	}
}

// OK is a check for Until: a GET of url that answers 200, with client
// (http.DefaultClient when nil). A malformed URL stops the wait.
func OK(client *http.Client, url string) func(ctx context.Context) error {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return Stop(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	}
}
