package lb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthClient makes each check on a new connection, as a new user would,
// so that a check proves the backend accepts connections now.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true, MaxResponseHeaderBytes: 64 << 10},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

func (b *Backend) startChecks() {
	ctx, cancel := context.WithCancel(context.Background())
	b.stopChecks = cancel
	b.checksDone = make(chan struct{})
	go b.checkLoop(ctx)
}

func (b *Backend) stopChecking() {
	if b.stopChecks != nil {
		b.stopChecks()
		<-b.checksDone
	}
}

// checkLoop checks the backend every interval until ctx ends. The first
// check decides the initial state at once; after that Rise successes bring a
// backend up and Fall failures take it down, except that a refused
// connection takes it down at once.
func (b *Backend) checkLoop(ctx context.Context) {
	defer close(b.checksDone)
	cfg := b.pool.cfg
	first := true
	t := time.NewTicker(cfg.HealthInterval)
	defer t.Stop()
	for {
		started := time.Now().UnixNano()
		ok, definitive, why, local := b.check(ctx)
		if ctx.Err() != nil {
			return
		}
		// A check that timed out or failed while real requests were being
		// answered found a busy backend, not a dead one; one that failed for
		// the balancer's own reasons (out of file descriptors) found
		// nothing about the backend: neither counts.
		busy := !ok && !definitive && b.lastOK.Load() > started
		if !busy && !local {
			b.record(ok, definitive || first, why)
		}
		b.lastCheck.Store(time.Now().UnixNano())
		first = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check runs one health check. definitive: nobody listens there (down at
// once); local: the check failed for the balancer's own reasons.
func (b *Backend) check(ctx context.Context) (ok, definitive bool, why string, local bool) {
	cfg := b.pool.cfg
	ctx, cancel := context.WithTimeout(ctx, cfg.HealthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.Addr+cfg.HealthPath, nil)
	if err != nil {
		return false, true, err.Error(), false
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		b.sessions.Store(-1) // no answer: what it holds is unknown
		kind := classify(err)
		return false, kind == failConnect && !isTimeout(err), "active: " + shortError(err), kind == failLocal
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.sessions.Store(-1)
		return false, false, fmt.Sprintf("active: %s answered %s", cfg.HealthPath, resp.Status), false
	}
	b.sessions.Store(reportedSessions(body))
	return true, false, "active: " + cfg.HealthPath + " answered 200", false
}

// record applies one check result with rise and fall.
func (b *Backend) record(ok, now bool, why string) {
	cfg := b.pool.cfg
	if ok {
		b.answered()
	}
	b.mu.Lock()
	if ok {
		b.rise, b.fall = b.rise+1, 0
	} else {
		b.rise, b.fall = 0, b.fall+1
	}
	rise, fall := b.rise, b.fall
	b.mu.Unlock()
	switch {
	case ok && !b.healthy.Load() && (now || rise >= cfg.Rise):
		b.setHealth(true, why)
	case !ok && b.healthy.Load() && (now || fall >= cfg.Fall):
		b.setHealth(false, why)
	case now:
		b.mu.Lock()
		b.why = why // the first check confirmed the state: say so
		b.mu.Unlock()
	}
}

// unreachable records a request's dial that failed. Refused or
// unreachable is down at once: nobody listens there. A timeout counts
// toward Fall, as a failed check does, and not at all when the backend
// answered something since the dial began: under load a dial waits in a
// full accept queue, and that backend is busy, not dead.
func (b *Backend) unreachable(err error, start time.Time) {
	why := "passive: " + shortError(err)
	if !isTimeout(err) {
		b.setHealth(false, why)
		return
	}
	if b.lastOK.Load() > start.UnixNano() {
		return
	}
	b.record(false, false, why)
}

// maxHealthBody is the most of a health check's answer the balancer reads.
const maxHealthBody = 64 << 10

// reportedSessions reads {"sessions": N} from a health check's answer:
// N when the body is a JSON object with a count that fits, -1 otherwise
// (a backend need not say anything, and a hostile one cannot make the
// balancer show a negative or absurd count).
func reportedSessions(body []byte) int64 {
	var v struct {
		Sessions *int64 `json:"sessions"`
	}
	if json.Unmarshal(body, &v) != nil || v.Sessions == nil || *v.Sessions < 0 {
		return -1
	}
	return *v.Sessions
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	t, ok := err.(timeout)
	return ok && t.Timeout()
}
