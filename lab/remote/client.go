package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
)

// Client is a lab another process runs, as a lab.Runtime. Close lets go
// of it; the lab keeps running.
type Client struct {
	http     *http.Client
	attached Attached
	stop     context.CancelFunc
	renewed  sync.WaitGroup
	closed   sync.Once
}

// Dial attaches to the lab served on the Unix socket at path, as who.
// The socket must be this user's, in a directory only this user can use:
// another user's program in its place would get every call (keys too).
func Dial(ctx context.Context, path, who string) (*Client, error) {
	if exists, err := ownSocket(path); err != nil {
		return nil, err
	} else if !exists {
		return nil, fmt.Errorf("no lab up answers at %s (no socket there): start one with lab up, or run without --up", path)
	}
	if err := PrivateDir(path, false); err != nil {
		return nil, err
	}
	if len(who) > maxWho {
		who = who[:maxWho-3] + "..."
	}
	c := &Client{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
	var a Attached
	if err := c.post(ctx, "attach", attachRequest{Who: who}, &a); err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			return nil, fmt.Errorf("no lab up answers at %s (%v): start one with lab up, or run without --up", path, op.Err)
		}
		return nil, fmt.Errorf("attaching to the lab up at %s: %w", path, err)
	}
	c.attached = a
	rctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	c.renewed.Add(1)
	go c.renew(rctx)
	return c, nil
}

// renew keeps the lease while the client is open.
func (c *Client) renew(ctx context.Context) {
	defer c.renewed.Done()
	t := time.NewTicker(LeaseTTL / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, LeaseTTL/4)
			_ = c.do(cctx, "renew", args{}, nil)
			cancel()
		}
	}
}

// post sends one call and decodes its answer into out.
func (c *Client) post(ctx context.Context, op string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://lab-up/"+op, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.attached.Lease != "" {
		req.Header.Set("X-Statelab-Lease", c.attached.Lease)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var r result
		if json.Unmarshal(raw, &r) == nil && r.Error != "" {
			return errors.New(r.Error)
		}
		return fmt.Errorf("lab up answered %s", resp.Status)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func (c *Client) do(ctx context.Context, op string, a args, out *result) error {
	if out == nil {
		out = &result{}
	}
	return c.post(ctx, op, a, out)
}

// Describe says what the lab runs on, and that it is lab up's.
func (c *Client) describe() string { return c.attached.Describe + ", run by lab up" }

// Endpoints are the lab's URLs.
func (c *Client) Endpoints() lab.Endpoints {
	e := c.attached.Endpoints
	e.About = c.describe()
	return e
}

// Instances lists a variant's base instances.
func (c *Client) Instances(v statelab.Variant) []string {
	return append([]string(nil), c.attached.Instances[v]...)
}

func (c *Client) Kill(ctx context.Context, name string) error {
	return c.do(ctx, "kill", args{Name: name}, nil)
}

func (c *Client) Stop(ctx context.Context, name string) error {
	return c.do(ctx, "stop", args{Name: name}, nil)
}

func (c *Client) Start(ctx context.Context, name string, s lab.Settings) error {
	return c.do(ctx, "start", args{Name: name, Settings: s}, nil)
}

func (c *Client) SetKeys(ctx context.Context, name string, keys statelab.Keys) error {
	return c.do(ctx, "set-keys", args{Name: name, Keys: keys}, nil)
}

func (c *Client) CrashAfterNextWrite(ctx context.Context, name string) error {
	return c.do(ctx, "crash-after-next-write", args{Name: name}, nil)
}

// InstanceURL asks lab up for an instance's URL ("" when it does not
// answer within 5 s).
func (c *Client) InstanceURL(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r result
	if c.do(ctx, "instance-url", args{Name: name}, &r) != nil {
		return ""
	}
	return r.URL
}

func (c *Client) Add(ctx context.Context, v statelab.Variant, name string, s lab.Settings) (string, error) {
	var r result
	err := c.do(ctx, "add", args{Name: name, Variant: string(v), Settings: s}, &r)
	return r.Addr, err
}

func (c *Client) Remove(ctx context.Context, name string) error {
	return c.do(ctx, "remove", args{Name: name}, nil)
}

func (c *Client) StopRedis(ctx context.Context) error { return c.do(ctx, "stop-redis", args{}, nil) }

func (c *Client) StartRedis(ctx context.Context, persist bool) error {
	return c.do(ctx, "start-redis", args{Persist: persist}, nil)
}

func (c *Client) SetRedisLatency(ctx context.Context, d time.Duration) error {
	return c.do(ctx, "set-redis-latency", args{Latency: d}, nil)
}

func (c *Client) RedisSent(ctx context.Context) (int64, error) {
	var r result
	err := c.do(ctx, "redis-sent", args{}, &r)
	return r.Sent, err
}

func (c *Client) RedisStats(ctx context.Context) (keys, bytes int64, err error) {
	var r result
	err = c.do(ctx, "redis-stats", args{}, &r)
	return r.Keys, r.Bytes, err
}

func (c *Client) Reset(ctx context.Context) error { return c.do(ctx, "reset", args{}, nil) }

// Tell tells lab up what the run does (its events, encoded as JSON), for
// its live page.
func (c *Client) Tell(ctx context.Context, events any) error {
	b, err := json.Marshal(events)
	if err != nil {
		return err
	}
	return c.do(ctx, "tell", args{Events: b}, nil)
}

// Close lets go of the lab, which lab up keeps running.
func (c *Client) Close() error {
	var err error
	c.closed.Do(func() {
		c.stop()
		c.renewed.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.do(ctx, "detach", args{}, nil)
		c.http.CloseIdleConnections()
	})
	return err
}

var (
	_ lab.Runtime     = (*Client)(nil)
	_ lab.KeyReloader = (*Client)(nil)
	_ lab.Crasher     = (*Client)(nil)
	_ lab.RedisSlower = (*Client)(nil)
	_ lab.RedisMeter  = (*Client)(nil)
)
