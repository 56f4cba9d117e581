package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"statelab/lb"
	"statelab/scenarios/local"
	"statelab/servers"
)

// FailoverRow is what a SIGKILL of one instance cost one variant.
type FailoverRow struct {
	Variant servers.Variant
	// Passive is the time from the kill to the balancer marking the
	// instance down while users were busy (a request found it gone);
	// Active, with nobody using the lab (a health check found it).
	Passive, Active time.Duration
	PassiveWhy      string
	ActiveWhy       string
	// Requests sent by the busy users from the kill until they stopped,
	// those that failed (5xx or no connection), and those answered 401
	// (sessions lost, for the memory variant).
	Requests, Failed, Lost int
}

// Failover starts a local lab, keeps users of every variant busy, kills
// instance 2 of each variant with SIGKILL and counts what it cost; then, on
// a reset lab with nobody busy, kills again and times the health checks.
func Failover(ctx context.Context, o Options) ([]FailoverRow, error) {
	rt, err := local.Start(ctx, local.Options{Exe: o.Exe})
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	ep := rt.Endpoints()
	admin := &lb.Client{Base: ep.Admin}
	for _, v := range servers.Variants {
		if err := admin.SetPolicy(ctx, string(v), lb.Sticky, false); err != nil {
			return nil, err
		}
	}
	events, err := admin.Events(ctx, -1)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var seen []lb.Event
	go func() {
		for ev := range events {
			mu.Lock()
			seen = append(seen, ev)
			mu.Unlock()
		}
	}()
	downAfter := func(name string, t0 time.Time) (time.Duration, string, error) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, ev := range seen {
				if ev.Type == lb.EventDown && ev.Backend == name && !ev.Time.Before(t0) {
					mu.Unlock()
					how := "active"
					if strings.HasPrefix(ev.Reason, "passive") {
						how = "passive"
					}
					return ev.Time.Sub(t0), how, nil
				}
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		return 0, "", fmt.Errorf("no backend_down for %s within 5 s", name)
	}

	rows := map[servers.Variant]*FailoverRow{}
	for _, v := range servers.Variants {
		rows[v] = &FailoverRow{Variant: v}
	}

	// Busy: o.Concurrency users per variant, each asking who it is in a loop.
	type counters struct{ requests, failed, lost atomic.Int64 }
	after := map[servers.Variant]*counters{}
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: 4 * o.Concurrency}
	defer tr.CloseIdleConnections()
	for _, v := range servers.Variants {
		c := &counters{}
		after[v] = c
		for i := 0; i < o.Concurrency; i++ {
			u, err := loginUser(ctx, tr, ep.Pools[v], fmt.Sprintf("failover%02d", i))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, err := u.me(ctx)
					if !killed.Load() {
						continue
					}
					c.requests.Add(1)
					switch {
					case err != nil || status >= 500:
						c.failed.Add(1)
					case status == http.StatusUnauthorized:
						c.lost.Add(1)
					}
				}
			}()
		}
	}
	time.Sleep(time.Second) // users busy before the kill
	killed.Store(true)
	kills, err := killAll(ctx, rt)
	if err != nil {
		close(stop)
		wg.Wait()
		return nil, err
	}
	for _, v := range servers.Variants {
		d, why, err := downAfter(string(v)+"-2", kills[v])
		if err != nil {
			close(stop)
			wg.Wait()
			return nil, err
		}
		rows[v].Passive, rows[v].PassiveWhy = d, why
	}
	time.Sleep(2 * time.Second) // users go on after the kill
	close(stop)
	wg.Wait()
	for _, v := range servers.Variants {
		rows[v].Requests = int(after[v].requests.Load())
		rows[v].Failed = int(after[v].failed.Load())
		rows[v].Lost = int(after[v].lost.Load())
	}

	// Idle: a reset lab, nobody busy, the same kill.
	reset := time.Now()
	if err := rt.Reset(ctx); err != nil {
		return nil, err
	}
	if err := checkedUp(ctx, admin, reset); err != nil {
		return nil, err
	}
	kills, err = killAll(ctx, rt)
	if err != nil {
		return nil, err
	}
	var out []FailoverRow
	for _, v := range servers.Variants {
		d, why, err := downAfter(string(v)+"-2", kills[v])
		if err != nil {
			return nil, err
		}
		rows[v].Active, rows[v].ActiveWhy = d, why
		out = append(out, *rows[v])
	}
	return out, nil
}

// benchUser is a logged-in user of one pool, with its cookies and token.
type benchUser struct {
	tr     http.RoundTripper
	base   string
	cookie string
	token  string
}

func loginUser(ctx context.Context, tr http.RoundTripper, base, name string) (*benchUser, error) {
	u := &benchUser{tr: tr, base: base}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(`{"user":"`+name+`","password":"statelab"}`))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body servers.Body
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login: %s", resp.Status)
	}
	var parts []string
	for _, c := range resp.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	u.cookie, u.token = strings.Join(parts, "; "), body.Token
	return u, nil
}

func (u *benchUser) me(ctx context.Context) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u.base+"/me", nil)
	if u.cookie != "" {
		req.Header.Set("Cookie", u.cookie)
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := u.tr.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// A re-pin moves the user: keep the new affinity cookie, as a browser would.
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, lb.CookieName) {
			u.cookie = replaceCookie(u.cookie, c.Name, c.Value)
		}
	}
	return resp.StatusCode, nil
}

func replaceCookie(header, name, value string) string {
	parts := strings.Split(header, "; ")
	for i, p := range parts {
		if strings.HasPrefix(p, name+"=") {
			parts[i] = name + "=" + value
			return strings.Join(parts, "; ")
		}
	}
	return strings.Join(append(parts, name+"="+value), "; ")
}

// checkedUp waits until the balancer has checked every backend up since t.
func checkedUp(ctx context.Context, admin *lb.Client, t time.Time) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := admin.Status(ctx)
		if err == nil {
			ok := true
			for _, p := range st.Pools {
				for _, b := range p.Backends {
					ok = ok && b.State == "up" && b.Checked.After(t)
				}
			}
			if ok {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the balancer did not see every instance up again")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killAll sends SIGKILL to instance 2 of every variant at once and returns
// when each was sent.
func killAll(ctx context.Context, rt *local.Runtime) (map[servers.Variant]time.Time, error) {
	var mu sync.Mutex
	at := map[servers.Variant]time.Time{}
	errs := make(chan error, len(servers.Variants))
	for _, v := range servers.Variants {
		go func() {
			t := time.Now()
			err := rt.Kill(ctx, string(v)+"-2")
			mu.Lock()
			at[v] = t
			mu.Unlock()
			errs <- err
		}()
	}
	for range servers.Variants {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	return at, nil
}
