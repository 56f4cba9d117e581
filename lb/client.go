package lb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
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
func (c *Client) SetPolicy(ctx context.Context, pool, policy string, strict bool) error {
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

// Backend applies "drain", "disable" or "enable" to a backend.
func (c *Client) Backend(ctx context.Context, pool, name, action string) error {
	return c.do(ctx, http.MethodPost, "/api/pools/"+url.PathEscape(pool)+"/backends/"+url.PathEscape(name)+"/"+url.PathEscape(action), nil, nil)
}

// WaitState polls until the backend is in state (up, down, draining,
// disabled) or ctx ends.
func (c *Client) WaitState(ctx context.Context, pool, backend, state string) error {
	var last string
	for {
		ps, err := c.Pool(ctx, pool)
		if err == nil {
			last = "absent"
			for _, b := range ps.Backends {
				if b.Name == backend {
					last = b.State
				}
			}
			if last == state {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/%s still %s, not %s: %w", pool, backend, last, state, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Events streams the balancer's events until ctx ends: with since >= 0 it
// first replays the kept events newer than since. The channel closes when
// the stream ends.
func (c *Client) Events(ctx context.Context, since int64) (<-chan Event, error) {
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
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var ev Event
			if json.Unmarshal([]byte(data), &ev) != nil {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
