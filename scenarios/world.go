package scenarios

import (
	"context"
	"fmt"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
)

// world is what a run knows of the places sessions live in: when each
// instance last ended (its memory gone), and when Redis last lost its data.
// It watches every action on the runtime, so that a 401 can be told apart:
// refused (the session still exists) or lost (gone for good).
type world struct {
	mu         sync.Mutex
	ended      map[string]time.Time
	redisWiped time.Time
	persist    bool        // Redis keeps an append-only file now
	faults     []time.Time // when something was broken on purpose
	fixed      time.Time   // when a step last undid a fault
}

func newWorld() *world { return &world{ended: map[string]time.Time{}} }

// Gone says why u's session can no longer exist anywhere, or "".
func (w *world) Gone(u *User) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch u.Variant {
	case statelab.Memory:
		if t, ok := w.ended[u.Origin.Instance]; ok && t.After(u.Origin.At) {
			return fmt.Sprintf("%s, the only instance that held it, ended", u.Origin.Instance)
		}
	case statelab.Redis:
		if w.redisWiped.After(u.Origin.At) {
			return "Redis lost its data"
		}
	}
	if exp := u.TokenExpiry(); !exp.IsZero() && time.Now().After(exp) {
		return "the token expired"
	}
	return ""
}

func (w *world) end(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.ended[name] = now
	w.faults = append(w.faults, now)
}

func (w *world) fault() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = append(w.faults, time.Now())
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

// firstFault is when the scenario first broke something (zero: never).
func (w *world) firstFault() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.faults) == 0 {
		return time.Time{}
	}
	return w.faults[0]
}

// tracked is the runtime as a run's steps see it: every action also tells
// the world what it destroyed.
type tracked struct {
	lab.Runtime
	w *world
}

func (t tracked) Kill(ctx context.Context, name string) error {
	t.w.end(name)
	return t.Runtime.Kill(ctx, name)
}

// Stop ends an instance gracefully: its memory is gone, but a stop is not a
// fault unless the scenario says so (Run.Fault; End does): restarting
// instances with other settings is reconfiguration.
func (t tracked) Stop(ctx context.Context, name string) error {
	t.w.mu.Lock()
	t.w.ended[name] = time.Now()
	t.w.mu.Unlock()
	return t.Runtime.Stop(ctx, name)
}

// Start starts a new process: whatever the old one held is gone.
func (t tracked) Start(ctx context.Context, name string, s lab.Settings) error {
	t.w.mu.Lock()
	t.w.ended[name] = time.Now()
	t.w.mu.Unlock()
	return t.Runtime.Start(ctx, name, s)
}

func (t tracked) Remove(ctx context.Context, name string) error {
	t.w.mu.Lock()
	t.w.ended[name] = time.Now()
	t.w.mu.Unlock()
	return t.Runtime.Remove(ctx, name)
}

func (t tracked) StopRedis(ctx context.Context) error {
	t.w.mu.Lock()
	now := time.Now()
	if !t.w.persist {
		t.w.redisWiped = now
	}
	t.w.faults = append(t.w.faults, now)
	t.w.mu.Unlock()
	return t.Runtime.StopRedis(ctx)
}

func (t tracked) StartRedis(ctx context.Context, persist bool) error {
	err := t.Runtime.StartRedis(ctx, persist)
	if err == nil {
		t.w.mu.Lock()
		t.w.persist = persist
		t.w.mu.Unlock()
	}
	return err
}
