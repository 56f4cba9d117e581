package scenarios

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/lb/api"
)

// world is what a run knows of the places sessions live in: when each
// instance last ended (its memory gone), and when Redis last lost its data.
// It watches every action on the runtime, so that a 401 can be told apart:
// refused (the session still exists) or lost (gone for good).
type world struct {
	mu         sync.Mutex
	ended      map[string]time.Time
	redisWiped time.Time
	persist    bool      // Redis keeps an append-only file now
	faults     []fault   // what was broken on purpose, and when
	fixed      time.Time // when a step last undid a fault

	// What the scenario has broken and not mended, to tell an answer it
	// explains from one the machine caused.
	down      map[string]bool // instances ended and not started again
	redisDown bool            // Redis stopped
	latency   time.Duration   // added to every answer of Redis
	timeout   time.Duration   // how long the instances wait for Redis
	denylist  bool            // the jwt instances ask Redis too
	dropping  bool            // the users' network drops every answer
	// The replicated Redis (Run.Replicate): when its link last began to
	// stall (zero: it carries), when its primary was killed, what the
	// link held back then (lostSince: sessions begun after it died with
	// the primary), and whether Sentinel has promoted the replica since.
	stalled, primaryKilled, lostSince time.Time
	promoted                          bool
	moved                             time.Time // when the instances last moved to a new, empty replicated Redis
	// why says how each instance in down ended; tell, when set, is told
	// the moment the scenario ends or removes one.
	why  map[string]string
	tell func(InstanceState)
}

// redisUsers lists the variants whose requests wait on Redis now.
func (w *world) redisUsers() []statelab.Variant {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []statelab.Variant
	for _, d := range statelab.Descriptions() {
		if d.DiesWithStore() || (d.Denylist && w.denylist) {
			out = append(out, d.Variant)
		}
	}
	return out
}

// replicated records that a new replicated Redis runs: nothing of an
// earlier one's failover holds for it.
func (w *world) replicated() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stalled, w.primaryKilled, w.lostSince, w.promoted = time.Time{}, time.Time{}, time.Time{}, false
	w.moved = time.Now()
}

func newWorld(storeTimeout time.Duration) *world {
	return &world{ended: map[string]time.Time{}, down: map[string]bool{}, why: map[string]string{}, timeout: storeTimeout}
}

// Injected says which fault the scenario injected explains a failed
// answer to a user of variant v ("" when none does): Redis stopped or
// slowed past the instances' patience (an instance's 5xx), an instance of
// the pool ended (the balancer's 5xx, or no answer).
func (w *world) Injected(v statelab.Variant, r Response) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropping && r.Err != nil {
		return "the users' network dropped the answer (the scenario)"
	}
	if r.Instance != "" && r.Status >= 500 {
		switch {
		case w.redisDown:
			return "Redis was stopped by the scenario"
		case !w.primaryKilled.IsZero() && v.Describe().DiesWithStore():
			return "the scenario killed Redis's primary, and Sentinel fails over to the replica"
		case !w.stalled.IsZero() && v.Describe().DiesWithStore():
			return "the scenario stalled the link from Redis's primary to its replica"
		case w.timeout > 0 && w.latency >= w.timeout:
			return fmt.Sprintf("the scenario delays every answer of Redis by %s, past the %s the instances wait", Seconds(w.latency.Seconds()), Seconds(w.timeout.Seconds()))
		}
		return ""
	}
	var ended []string
	for name, down := range w.down {
		if down && strings.HasPrefix(name, string(v)+"-") {
			ended = append(ended, name)
		}
	}
	if len(ended) == 0 {
		return ""
	}
	sort.Strings(ended)
	return strings.Join(ended, ", ") + " ended by the scenario"
}

// Gone says why u's session can no longer exist anywhere, or "".
func (w *world) Gone(u *User) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch d := u.Variant.Describe(); {
	case d.DiesWithProcess():
		if t, ok := w.ended[u.Origin.Instance]; ok && t.After(u.Origin.At) {
			return fmt.Sprintf("%s, the only instance that held it, ended", u.Origin.Instance)
		}
	case d.DiesWithStore():
		if w.redisWiped.After(u.Origin.At) {
			return "Redis lost its data"
		}
		if w.moved.After(u.Origin.At) {
			return "the redis instances moved to a new, empty Redis (a replicated one) after it began"
		}
		if !w.lostSince.IsZero() && u.Origin.At.After(w.lostSince) && w.primaryKilled.After(u.Origin.At) {
			return "its session was written to the primary after the link to the replica stalled; the primary died before the replica had it, and the replica is the primary now"
		}
	}
	if exp := u.TokenExpiry(); !exp.IsZero() && time.Now().After(exp) {
		return "the token expired"
	}
	return ""
}

// fault is a moment the scenario broke something: an instance of one
// variant, or (variant "") what every variant may depend on.
type fault struct {
	at      time.Time
	variant statelab.Variant
}

func (w *world) end(name, why string) {
	w.mu.Lock()
	now := time.Now()
	w.ended[name] = now
	w.down[name] = true
	w.why[name] = why
	w.faults = append(w.faults, fault{now, statelab.VariantOf(name)})
	w.mu.Unlock()
}

// told tells the world's follower (the run's observers) that an instance
// is now in state, and why.
func (w *world) told(name, state, why string) {
	w.mu.Lock()
	tell := w.tell
	w.mu.Unlock()
	if tell != nil {
		tell(InstanceState{Variant: string(statelab.VariantOf(name)), Name: name, State: state, Tone: api.State(state).Tone(), Why: why})
	}
}

// toldStore tells the world's follower that the scenario stopped or
// started Redis.
func (w *world) toldStore(state, why string) {
	w.mu.Lock()
	tell := w.tell
	w.mu.Unlock()
	if tell != nil {
		tell(InstanceState{Variant: StoreRow, Name: "redis", State: state, Why: why})
	}
}

// downWhy says why an instance the scenario ended is not running, or ""
// when it runs (or was never ended).
func (w *world) downWhy(name string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.down[name] {
		return ""
	}
	return w.why[name]
}

// ending records that an instance ends (or was replaced by a new
// process) now; down says it is not running after.
func (w *world) ending(name string, down bool, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended[name] = time.Now()
	w.down[name] = down
	w.why[name] = why
}

// anyDown reports whether one of the instances is down: ended by the
// scenario and not started again.
func (w *world) anyDown(ins []instance) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, in := range ins {
		if w.down[in.name] {
			return true
		}
	}
	return false
}

func (w *world) fault() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = append(w.faults, fault{at: time.Now()})
}

func (w *world) fix() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fixed = time.Now()
}

func (w *world) fixedAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fixed
}

// faultBefore is the last moment before t that the scenario broke
// something variant v's users may depend on (zero: none).
func (w *world) faultBefore(v statelab.Variant, t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var at time.Time
	for _, f := range w.faults {
		if (f.variant == "" || f.variant == v) && !f.at.After(t) {
			at = f.at
		}
	}
	return at
}

// firstFault is when the scenario first broke something variant v's users
// may depend on (zero: never).
func (w *world) firstFault(v statelab.Variant) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.faults {
		if f.variant == "" || f.variant == v {
			return f.at
		}
	}
	return time.Time{}
}

// tracked is the runtime as a run's steps see it: every action also tells
// the world what it destroyed.
type tracked struct {
	lab.Runtime
	w *world
}

func (t tracked) Kill(ctx context.Context, name string) error {
	why := "killed by the scenario (SIGKILL)"
	t.w.end(name, why)
	t.w.told(name, string(api.Down), why)
	return t.Runtime.Kill(ctx, name)
}

// Stop ends an instance gracefully: its memory is gone, but a stop is not a
// fault unless the scenario says so (Run.Fault; End does): restarting
// instances with other settings is reconfiguration.
func (t tracked) Stop(ctx context.Context, name string) error {
	why := "stopped by the scenario (SIGTERM)"
	t.w.ending(name, true, why)
	t.w.told(name, string(api.Down), why)
	return t.Runtime.Stop(ctx, name)
}

// Start starts a new process: whatever the old one held is gone. Until it
// answers, it is down.
func (t tracked) Start(ctx context.Context, name string, s lab.Settings) error {
	t.w.ending(name, true, "being started again by the scenario (a new process)")
	err := t.Runtime.Start(ctx, name, s)
	if err == nil {
		t.w.mu.Lock()
		t.w.down[name] = false
		if statelab.VariantOf(name).Describe().Denylist {
			t.w.denylist = t.w.denylist || s.Denylist
		}
		t.w.mu.Unlock()
	}
	return err
}

func (t tracked) Remove(ctx context.Context, name string) error {
	why := "removed by the scenario"
	t.w.ending(name, true, why)
	t.w.told(name, Removed, why)
	return t.Runtime.Remove(ctx, name)
}

func (t tracked) StopRedis(ctx context.Context) error {
	t.w.mu.Lock()
	now := time.Now()
	if !t.w.persist {
		t.w.redisWiped = now
	}
	t.w.redisDown = true
	t.w.faults = append(t.w.faults, fault{at: now})
	t.w.mu.Unlock()
	t.w.toldStore("stopped", "stopped by the scenario")
	return t.Runtime.StopRedis(ctx)
}

func (t tracked) StartRedis(ctx context.Context, persist bool) error {
	err := t.Runtime.StartRedis(ctx, persist)
	if err == nil {
		t.w.mu.Lock()
		t.w.persist = persist
		t.w.redisDown = false
		t.w.mu.Unlock()
		t.w.toldStore("started", "started again by the scenario")
	}
	return err
}

func (t tracked) SetRedisLatency(ctx context.Context, d time.Duration) error {
	t.w.mu.Lock()
	t.w.latency = max(t.w.latency, d) // answers already on their way keep the larger delay
	t.w.mu.Unlock()
	err := lab.SetRedisLatency(ctx, t.Runtime, d)
	t.w.mu.Lock()
	t.w.latency = d
	t.w.mu.Unlock()
	return err
}

// The capabilities pass through to the runtime, which may lack them: the
// runner skips a scenario that needs one it lacks before it starts.

func (t tracked) SetKeys(ctx context.Context, name string, keys statelab.Keys) error {
	return lab.SetKeys(ctx, t.Runtime, name, keys)
}

func (t tracked) CrashAfterNextWrite(ctx context.Context, name string) error {
	return lab.CrashAfterNextWrite(ctx, t.Runtime, name)
}

func (t tracked) RedisSent(ctx context.Context) (int64, error) { return lab.RedisSent(ctx, t.Runtime) }

func (t tracked) RedisStats(ctx context.Context) (keys, bytes int64, err error) {
	return lab.RedisStats(ctx, t.Runtime)
}
