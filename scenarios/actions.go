package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab/servers"
)

// Actions on the lab that the later scenarios share.

// SetPolicyFor switches one pool's policy.
func (r *Run) SetPolicyFor(v servers.Variant, policy string) error {
	if err := r.LB.SetPolicy(r.ctx, string(v), policy, false); err != nil {
		return err
	}
	r.Note("lb: pool %s now %s", v, policy)
	return nil
}

// LogoutAll logs the users of the variants out; each keeps a copy of the
// credential it held, for ReplayProbe.
func (r *Run) LogoutAll(variants ...servers.Variant) error {
	var mu sync.Mutex
	revoked, failed := map[servers.Variant]int{}, map[servers.Variant]int{}
	r.EachUserOf(variants, func(u *User) {
		resp := u.Logout(r.ctx)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case resp.Status != http.StatusOK:
			failed[u.Variant]++
		case resp.Body.Revoked != nil && *resp.Body.Revoked:
			revoked[u.Variant]++
		}
	})
	if err := r.ctx.Err(); err != nil {
		return err
	}
	for _, v := range variants {
		n := len(r.Users[v])
		r.Note("%s: %d of %d logouts say the old credential is now refused%s", v, revoked[v], n, map[bool]string{true: fmt.Sprintf(" (%d logouts failed)", failed[v]), false: ""}[failed[v] > 0])
	}
	return nil
}

// ForgetAffinity has every user drop the balancer's sticky cookie.
func (r *Run) ForgetAffinity() {
	r.EachUser(func(u *User) { u.ForgetAffinity() })
	r.Note("every user dropped its %s cookie", "statelab_backend")
}

// AddInstances starts instance n of every variant, adds it to its pool and
// waits until the balancer has checked it up.
func (r *Run) AddInstances(n int) error {
	since := time.Now()
	for _, v := range servers.Variants {
		name := fmt.Sprintf("%s-%d", v, n)
		addr, err := r.RT.Add(r.ctx, v, name, nil)
		if err != nil {
			return err
		}
		if err := r.LB.AddBackend(r.ctx, string(v), name, addr); err != nil {
			return err
		}
		r.Note("lb: %s added to pool %s (%s)", name, v, addr)
	}
	return r.rn.waitAllUp(r.ctx, since)
}

// RestartVariant restarts every instance of a variant with env on top of its
// configuration (all at once: nobody is using the lab meanwhile), and waits
// until the balancer has checked them up.
func (r *Run) RestartVariant(v servers.Variant, env map[string]string) error {
	since := time.Now()
	names := r.RT.Instances(v)
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() {
			if err := r.RT.Stop(r.ctx, name); err != nil {
				errs <- err
				return
			}
			errs <- r.RT.Start(r.ctx, name, env)
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := r.rn.waitAllUp(r.ctx, since); err != nil {
		return err
	}
	var settings []string
	for k, val := range env {
		settings = append(settings, k+"="+val)
	}
	sort.Strings(settings)
	r.Note("%s restarted with %s", strings.Join(names, ", "), strings.Join(settings, " "))
	return nil
}

// SetKeys puts keys in force on the named instances, without a restart.
func (r *Run) SetKeys(keys map[string]string, names ...string) error {
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() { errs <- r.RT.SetKeys(r.ctx, name, keys) }()
	}
	for range names {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// AllInstances lists every base instance of every variant.
func (r *Run) AllInstances() []string {
	var out []string
	for _, v := range servers.Variants {
		out = append(out, r.RT.Instances(v)...)
	}
	return out
}

// InstanceGet fetches a path from an instance directly and decodes its JSON.
func (r *Run) InstanceGet(name, path string, v any) error {
	base := r.RT.InstanceURL(name)
	if base == "" {
		return fmt.Errorf("no instance %s", name)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.rn.transport.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("%s%s: %w", name, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s: %s", name, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Held sums what the instances of a variant hold, from their /stats.
func (r *Run) Held(v servers.Variant) (sessions, bytes int64, err error) {
	for _, name := range r.RT.Instances(v) {
		var st servers.Stats
		if err := r.InstanceGet(name, "/stats", &st); err != nil {
			return 0, 0, err
		}
		sessions += st.Sessions
		bytes += st.Bytes
	}
	return sessions, bytes, nil
}

// SampleLatency has the first user of a variant ask who it is n times, one
// request after the other with nothing else going on, and returns the
// median: what one request costs, not what a crowd waits.
func (r *Run) SampleLatency(v servers.Variant, n int) time.Duration {
	u := r.Users[v][0]
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n && r.ctx.Err() == nil; i++ {
		_, resp := u.Probe(r.ctx)
		ds = append(ds, resp.Took)
	}
	return median(ds)
}
