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

	"statelab/lb/api"

	"statelab"
	"statelab/internal/parallel"
	"statelab/lab"
)

// What the steps of the catalogue do to the lab, each written once.

// SetPolicy switches every pool's policy.
func (r *Run) SetPolicy(policy api.Policy, strict bool) error {
	for _, v := range statelab.Variants {
		if err := r.LB.SetPolicy(r.ctx, string(v), policy, strict); err != nil {
			return err
		}
	}
	suffix := ""
	if strict && policy.Pins() {
		suffix = " (strict)"
	}
	r.Detail("lb: every pool now %s%s", policy, suffix)
	return nil
}

// SetPolicyFor switches one pool's policy.
func (r *Run) SetPolicyFor(v statelab.Variant, policy api.Policy) error {
	if err := r.LB.SetPolicy(r.ctx, string(v), policy, false); err != nil {
		return err
	}
	r.Detail("lb: pool %s now %s", v, policy)
	return nil
}

// FillAll logs every user in and adds its planned items.
func (r *Run) FillAll() error { return r.FillOf(statelab.Variants...) }

// FillOf logs the users of some variants in and adds their planned items,
// one request each; the note says, per variant, how many of those requests
// were not answered 200, and how many users' carts are complete.
func (r *Run) FillOf(variants ...statelab.Variant) error {
	var mu sync.Mutex
	sent, failed, short := map[statelab.Variant]int{}, map[statelab.Variant]int{}, map[statelab.Variant]int{}
	noLogin, why := map[statelab.Variant]int{}, map[statelab.Variant]string{}
	start := time.Now()
	r.EachUserOf(variants, func(u *User) {
		n, bad := u.FillCount(r.ctx)
		mu.Lock()
		defer mu.Unlock()
		sent[u.Variant] += n
		failed[u.Variant] += bad
		if bad > 0 {
			short[u.Variant]++
		}
		if f := u.LoginFailed(); f != "" {
			noLogin[u.Variant]++
			if why[u.Variant] == "" {
				why[u.Variant] = strings.TrimPrefix(f, "its login failed: ")
			}
		}
	})
	if err := r.ctx.Err(); err != nil {
		return err
	}
	users := len(r.Users[variants[0]])
	var parts, names []string
	for _, v := range variants {
		names = append(names, string(v))
		if failed[v] > 0 {
			part := fmt.Sprintf("%s: %d of %d requests not answered 200, %d of %d users' carts incomplete",
				v, failed[v], sent[v], short[v], users)
			if n := noLogin[v]; n > 0 {
				part += fmt.Sprintf("; %d of %d logins failed (e.g. %s): those users have no session, and count as unavailable", n, users, why[v])
			}
			parts = append(parts, part)
		}
	}
	who := "per variant"
	if len(variants) < len(statelab.Variants) {
		who = "of " + strings.Join(names, " and ")
	}
	msg := fmt.Sprintf("%d users %s logged in and added their items in %.2f s", users, who, time.Since(start).Seconds())
	if len(parts) > 0 {
		msg = fmt.Sprintf("%d users %s tried to log in and add their items, in %.2f s", users, who, time.Since(start).Seconds())
	}
	if len(parts) == 0 {
		r.Detail("%s, every request answered", msg)
		return nil
	}
	r.Note("%s; %s", msg, strings.Join(parts, "; "))
	return nil
}

// LogoutAll logs the users of the variants out; each keeps a copy of the
// credential it held, for ReplayProbe.
func (r *Run) LogoutAll(variants ...statelab.Variant) error {
	var mu sync.Mutex
	revoked, failed := map[statelab.Variant]int{}, map[statelab.Variant]int{}
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
	var parts []string
	surprising := false // some logouts say the old credential still works, or failed
	for _, v := range variants {
		part := fmt.Sprintf("%s %d of %d", v, revoked[v], len(r.Users[v]))
		if failed[v] > 0 {
			part += fmt.Sprintf(" (%d logouts failed)", failed[v])
		}
		surprising = surprising || revoked[v] < len(r.Users[v])
		parts = append(parts, part)
	}
	note := r.Detail
	if surprising {
		note = r.Note
	}
	note("logouts after which the old credential is refused, as the servers say: %s", strings.Join(parts, ", "))
	return nil
}

// ForgetAffinity has every user drop the balancer's sticky cookie.
func (r *Run) ForgetAffinity() {
	r.EachUser(func(u *User) { u.ForgetAffinity() })
	r.Detail("every user dropped its %s cookie", statelab.AffinityCookie)
}

// Instance returns the names of instance n (1-based) of every variant:
// memory-2, redis-2, jwt-2; none when the lab has no instance n.
func (r *Run) Instance(n int) []string {
	ins, _ := r.each(n)
	var out []string
	for _, in := range ins {
		out = append(out, in.name)
	}
	return out
}

// each returns instance n (1-based) of every variant.
func (r *Run) each(n int) ([]instance, error) {
	var out []instance
	for _, v := range statelab.Variants {
		in, err := r.nth(v, n)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// nth is instance n (1-based) of variant v.
func (r *Run) nth(v statelab.Variant, n int) (instance, error) {
	names := r.RT.Instances(v)
	if n < 1 || n > len(names) {
		return instance{}, fmt.Errorf("no instance %d: this lab runs %d instances of each variant (1 to %d)", n, len(names), len(names))
	}
	return instance{v, names[n-1]}, nil
}

type instance struct {
	variant statelab.Variant
	name    string
}

// End ends instance number n of every variant (memory-n, redis-n, jwt-n),
// with SIGKILL or, when graceful, SIGTERM, and measures how long the
// balancer takes to notice.
func (r *Run) End(n int, graceful bool) error {
	targets, err := r.each(n)
	if err != nil {
		return err
	}
	mark := r.rn.events.lastID()
	r.Fault()
	t0 := time.Now()
	err = parallel.Do(targets, func(in instance) error {
		if graceful {
			return r.RT.Stop(r.ctx, in.name)
		}
		return r.RT.Kill(r.ctx, in.name)
	})
	if err != nil {
		return err
	}
	return r.awaitDown(targets, mark, t0)
}

// CrashDuring arms instance number n of variant v to die after the next
// write it applies, runs write (which should send it one), and waits until
// the balancer reports the instance down: it is gone, and what it held
// with it.
func (r *Run) CrashDuring(v statelab.Variant, n int, write func()) error {
	in, err := r.nth(v, n)
	if err != nil {
		return err
	}
	if err := lab.CrashAfterNextWrite(r.ctx, r.RT, in.name); err != nil {
		return err
	}
	mark := r.rn.events.lastID()
	t0 := time.Now()
	// Doomed from here: the write's answer, whatever it is, comes from
	// an instance the scenario ends.
	r.world.end(in.name, "armed by the scenario to crash after its next write")
	write()
	return r.awaitDown([]instance{in}, mark, t0)
}

// awaitDown waits for the balancer to report each instance down and notes,
// in a line, how long it took.
func (r *Run) awaitDown(targets []instance, mark int64, t0 time.Time) error {
	var names, times []string
	how := map[string]bool{}
	for _, in := range targets {
		ev, err := r.rn.events.wait(r.ctx, mark, r.rn.timing.wait(5*time.Second), func(ev api.Event) bool {
			return ev.Type == api.EventDown && ev.Backend == in.name
		})
		if err != nil {
			return fmt.Errorf("the balancer did not report %s down: %w", in.name, err)
		}
		d := max(ev.Time.Sub(t0).Seconds(), 0)
		r.res.Detect[in.variant] = append(r.res.Detect[in.variant], d)
		names = append(names, in.name)
		times = append(times, Seconds(d))
		if strings.HasPrefix(ev.Reason, "passive") {
			how["passive: a request found it gone"] = true
		} else {
			how["active: a health check found it gone"] = true
		}
	}
	var hows []string
	for h := range how {
		hows = append(hows, h)
	}
	sort.Strings(hows)
	r.Aside("lb: %s down after %s (%s)", strings.Join(names, ", "), strings.Join(times, ", "), strings.Join(hows, "; "))
	return nil
}

// Restart starts instance number n of every variant again and waits until
// the balancer has checked it up.
func (r *Run) Restart(n int) error {
	since := time.Now()
	targets, err := r.each(n)
	if err != nil {
		return err
	}
	mends := r.world.anyDown(targets)
	if err := parallel.Do(targets, func(in instance) error { return r.RT.Start(r.ctx, in.name, lab.Settings{}) }); err != nil {
		return err
	}
	if err := r.LB.WaitAllUp(r.ctx, since, r.rn.timing.wait(20*time.Second)); err != nil {
		return err
	}
	if mends {
		r.Fixed() // the instances the scenario ended are back
	}
	return nil
}

// AddInstances starts instance n of every variant, adds it to its pool and
// waits until the balancer has checked it up.
func (r *Run) AddInstances(n int) error {
	since := time.Now()
	var added []string
	for _, v := range statelab.Variants {
		name := fmt.Sprintf("%s-%d", v, n)
		addr, err := r.RT.Add(r.ctx, v, name, lab.Settings{})
		if err != nil {
			return err
		}
		if err := r.LB.AddBackend(r.ctx, string(v), name, addr); err != nil {
			return err
		}
		added = append(added, fmt.Sprintf("%s to pool %s (%s)", name, v, addr))
	}
	r.Detail("lb: added %s", strings.Join(added, ", "))
	return r.LB.WaitAllUp(r.ctx, since, r.rn.timing.wait(20*time.Second))
}

// AddInstance starts instance n of variant v with settings s, adds it to
// its pool and waits until the balancer has checked it up. It returns when
// it joined its pool: from then on the balancer may send it requests.
func (r *Run) AddInstance(v statelab.Variant, n int, s lab.Settings) (time.Time, error) {
	name := v.Instance(n)
	addr, err := r.RT.Add(r.ctx, v, name, s)
	if err != nil {
		return time.Time{}, err
	}
	joined := time.Now()
	if err := r.LB.AddBackend(r.ctx, string(v), name, addr); err != nil {
		return time.Time{}, err
	}
	if err := r.LB.WaitState(r.ctx, string(v), name, api.Up, r.rn.timing.wait(20*time.Second)); err != nil {
		return time.Time{}, err
	}
	return joined, nil
}

// RestartVariant restarts every instance of a variant with settings s (all
// at once: nobody is using the lab meanwhile), and waits until the
// balancer has checked them up.
func (r *Run) RestartVariant(v statelab.Variant, s lab.Settings) error {
	since := time.Now()
	names := r.RT.Instances(v)
	err := parallel.Do(names, func(name string) error {
		if err := r.RT.Stop(r.ctx, name); err != nil {
			return err
		}
		return r.RT.Start(r.ctx, name, s)
	})
	if err != nil {
		return err
	}
	if err := r.LB.WaitAllUp(r.ctx, since, r.rn.timing.wait(20*time.Second)); err != nil {
		return err
	}
	r.Detail("%s restarted with %s", strings.Join(names, ", "), s)
	return nil
}

// Reconfigure restarts instance number n of every variant with settings s
// (SIGTERM, then a new process: what it held is gone), and waits until the
// balancer has checked them up.
func (r *Run) Reconfigure(n int, s lab.Settings) error {
	since := time.Now()
	targets, err := r.each(n)
	if err != nil {
		return err
	}
	err = parallel.Do(targets, func(in instance) error {
		if err := r.RT.Stop(r.ctx, in.name); err != nil {
			return err
		}
		return r.RT.Start(r.ctx, in.name, s)
	})
	if err != nil {
		return err
	}
	if err := r.LB.WaitAllUp(r.ctx, since, r.rn.timing.wait(20*time.Second)); err != nil {
		return err
	}
	names := make([]string, len(targets))
	for i, in := range targets {
		names[i] = in.name
	}
	r.Detail("%s restarted with %s", strings.Join(names, ", "), s)
	return nil
}

// Disable takes instance number n of every variant out of its pool: the
// balancer sends it nobody until the lab is reset.
func (r *Run) Disable(n int) error {
	targets, err := r.each(n)
	if err != nil {
		return err
	}
	return parallel.Do(targets, func(in instance) error {
		return r.LB.Backend(r.ctx, string(in.variant), in.name, api.Disable)
	})
}

// SetKeys puts keys in force on the named instances, without a restart.
func (r *Run) SetKeys(keys statelab.Keys, names ...string) error {
	return parallel.Do(names, func(name string) error { return lab.SetKeys(r.ctx, r.RT, name, keys) })
}

// AllInstances lists every base instance of every variant.
func (r *Run) AllInstances() []string {
	var out []string
	for _, v := range statelab.Variants {
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
	ctx, cancel := context.WithTimeout(r.ctx, r.rn.timing.wait(5*time.Second))
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
func (r *Run) Held(v statelab.Variant) (sessions, bytes int64, err error) {
	for _, name := range r.RT.Instances(v) {
		var st statelab.Stats
		if err := r.InstanceGet(name, "/stats", &st); err != nil {
			return 0, 0, err
		}
		sessions += st.Sessions
		bytes += st.Bytes
	}
	return sessions, bytes, nil
}

// SampleLatencies has the first user of a variant ask who it is n times,
// one request after the other with nothing else going on, and returns how
// long each took.
func (r *Run) SampleLatencies(v statelab.Variant, n int) []time.Duration {
	u := r.Users[v][0]
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n && r.ctx.Err() == nil; i++ {
		_, resp := u.Probe(r.ctx)
		ds = append(ds, resp.Took)
	}
	return ds
}

// SampleLatency has the first user of a variant ask who it is n times, one
// request after the other with nothing else going on, and returns the
// median: what one request costs, not what a crowd waits.
func (r *Run) SampleLatency(v statelab.Variant, n int) time.Duration {
	u := r.Users[v][0]
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n && r.ctx.Err() == nil; i++ {
		_, resp := u.Probe(r.ctx)
		ds = append(ds, resp.Took)
	}
	return Median(ds)
}
