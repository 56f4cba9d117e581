package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"statelab/internal/poll"
)

// Client calls a balancer's admin API.
type Client struct {
	// Base is the admin API's URL, e.g. http://127.0.0.1:9000.
	Base string
	// Token, when set, is sent as a bearer token.
	Token string
	// HTTP is the client to use; nil means one with a 5 second timeout
	// (events are streamed without a timeout).
	HTTP *http.Client
}

var defaultClient = &http.Client{Timeout: 5 * time.Second}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, rd)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Statelab-Admin", "1")
	hc := c.HTTP
	if hc == nil {
		hc = defaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("lb admin: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("lb admin: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e AdminError
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("lb admin: %s %s: %s (%s)", method, path, e.Error, resp.Status)
		}
		return fmt.Errorf("lb admin: %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Status returns every pool's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/api/pools", nil, &st)
	return st, err
}

// Pool returns one pool's status.
func (c *Client) Pool(ctx context.Context, pool string) (PoolStatus, error) {
	var ps PoolStatus
	err := c.do(ctx, http.MethodGet, "/api/pools/"+url.PathEscape(pool), nil, &ps)
	return ps, err
}

// SetPolicy switches a pool's policy.
func (c *Client) SetPolicy(ctx context.Context, pool string, policy Policy, strict bool) error {
	return c.do(ctx, http.MethodPut, "/api/pools/"+url.PathEscape(pool)+"/policy", PolicyRequest{Policy: policy, Strict: strict}, nil)
}

// AddBackend adds a backend to a pool.
func (c *Client) AddBackend(ctx context.Context, pool, name, addr string) error {
	return c.do(ctx, http.MethodPost, "/api/pools/"+url.PathEscape(pool)+"/backends", BackendRequest{Name: name, Addr: addr}, nil)
}

// RemoveBackend removes a backend from a pool.
func (c *Client) RemoveBackend(ctx context.Context, pool, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/pools/"+url.PathEscape(pool)+"/backends/"+url.PathEscape(name), nil, nil)
}

// Backend applies an action to a backend.
func (c *Client) Backend(ctx context.Context, pool, name string, a Action) error {
	return c.do(ctx, http.MethodPost, "/api/pools/"+url.PathEscape(pool)+"/backends/"+url.PathEscape(name)+"/"+url.PathEscape(string(a)), nil, nil)
}

// WaitState polls until the backend is in state, for up to limit.
func (c *Client) WaitState(ctx context.Context, pool, backend string, state State, limit time.Duration) error {
	return poll.Until(ctx, limit, 20*time.Millisecond, func(ctx context.Context) error {
		ps, err := c.Pool(ctx, pool)
		if err != nil {
			return err
		}
		for _, b := range ps.Backends {
			if b.Name == backend {
				if b.State == state {
					return nil
				}
				return fmt.Errorf("%s/%s is %s, not %s (%s)", pool, backend, b.State, state, b.Why)
			}
		}
		return fmt.Errorf("%s has no backend %s", pool, backend)
	})
}

// WaitAllUp polls until the balancer has checked every backend of every
// pool after since and found it up, for up to limit: only then is a state
// read after a restart current. A disabled backend, taken out of its pool
// on purpose, is not waited for.
func (c *Client) WaitAllUp(ctx context.Context, since time.Time, limit time.Duration) error {
	err := poll.Until(ctx, limit, 20*time.Millisecond, func(ctx context.Context) error {
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		var not []string
		for _, ps := range st.Pools {
			for _, b := range ps.Backends {
				if b.State == Disabled {
					continue
				}
				if b.State != Up || !b.Checked.After(since) {
					not = append(not, fmt.Sprintf("%s/%s is %s (%s)", ps.Name, b.Name, b.State, b.Why))
				}
			}
		}
		if len(not) > 0 {
			return errors.New(strings.Join(not, "; "))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("the balancer does not see every backend up: %w", err)
	}
	return nil
}

// Want is how Restore leaves a pool: these backends only, every one
// enabled, and this policy.
type Want struct {
	Backends []string
	Policy   Policy
	Strict   bool
}

// Restore puts pools back as want says: backends not named removed,
// draining and disabled ones enabled, and the policy set where it differs.
// Pools want does not name are left alone; backends it names that are
// missing are not added (a runtime adds its own).
func (c *Client) Restore(ctx context.Context, want map[string]Want) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	for _, ps := range st.Pools {
		w, ok := want[ps.Name]
		if !ok {
			continue
		}
		for _, b := range ps.Backends {
			switch {
			case !slices.Contains(w.Backends, b.Name):
				err = c.RemoveBackend(ctx, ps.Name, b.Name)
			case b.State == Draining || b.State == Disabled:
				err = c.Backend(ctx, ps.Name, b.Name, Enable)
			}
			if err != nil {
				return err
			}
		}
		if ps.Policy != w.Policy || ps.Strict != w.Strict {
			if err := c.SetPolicy(ctx, ps.Name, w.Policy, w.Strict); err != nil {
				return err
			}
		}
	}
	return nil
}

// Events streams the balancer's events until ctx ends: with since >= 0 it
// first replays the kept events newer than since. A stream the balancer
// ends (one that fell behind, or the oldest when too many are open) is
// opened again from the last event seen, so that no kept event is missed;
// the channel closes when ctx ends. The first connection's failure is
// returned at once.
func (c *Client) Events(ctx context.Context, since int64) (<-chan Event, error) {
	body, err := c.openEvents(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		st := &eventStream{last: since}
		wait := 100 * time.Millisecond
		for {
			if body != nil {
				restarted := st.read(ctx, body, out)
				body.Close()
				body = nil
				wait = 100 * time.Millisecond
				if restarted {
					// A new balancer on the same address: its events are
					// all new to us, those it kept included.
					st.last, wait = 0, 0
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Second)
			body, _ = c.openEvents(ctx, st.last)
		}
	}()
	return out, nil
}

// openEvents opens GET /api/events.
func (c *Client) openEvents(ctx context.Context, since int64) (io.ReadCloser, error) {
	u := strings.TrimRight(c.Base, "/") + "/api/events"
	if since >= 0 {
		u += fmt.Sprintf("?since=%d", since)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := &http.Client{}
	if c.HTTP != nil {
		hc = &http.Client{Transport: c.HTTP.Transport}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lb admin: events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("lb admin: events: %s", resp.Status)
	}
	return resp.Body, nil
}

// eventStream is where a client's reading of the event stream is: the
// last event told, and the balancer process that numbered it.
type eventStream struct {
	last  int64
	epoch string
}

// read sends the stream's events to out until it ends, keeping the id of
// the last event seen (or, for a stream of new events only, the last one
// before it began); restarted reports a stream from another balancer
// process than the one before (it numbers its events from 1 again).
func (st *eventStream) read(ctx context.Context, body io.Reader, out chan<- Event) (restarted bool) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if at, ok := strings.CutPrefix(line, ": at "); ok {
			idText, epoch, _ := strings.Cut(at, " ")
			n, err := strconv.ParseInt(idText, 10, 64)
			if err != nil {
				continue
			}
			if st.epoch != "" && epoch != st.epoch {
				st.epoch = epoch
				return true
			}
			st.epoch = epoch
			if st.last < 0 {
				st.last = n
			}
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev Event
		if json.Unmarshal([]byte(data), &ev) != nil || st.last >= 0 && ev.ID <= st.last {
			continue // not an event, or one already told
		}
		st.last = max(st.last, ev.ID)
		select {
		case out <- ev:
		case <-ctx.Done():
			return false
		}
	}
	return false
}
