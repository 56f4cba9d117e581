package scenarios

import (
	"slices"
	"testing"
	"time"

	"statelab"
)

// TestWorld: the engine's bookkeeping of what a scenario destroyed, and
// what that explains, follows each variant's description.
func TestWorld(t *testing.T) {
	w := newWorld(time.Second)
	login := time.Now()
	user := func(v statelab.Variant, on string) *User {
		return &User{Variant: v, Name: "u", Origin: Origin{Instance: on, At: login}}
	}
	if got := w.Gone(user(statelab.Memory, "memory-2")); got != "" {
		t.Errorf("nothing ended yet, and a memory session is gone: %q", got)
	}
	w.end("memory-2", "killed")
	w.end("redis-2", "killed")
	if got := w.Gone(user(statelab.Memory, "memory-2")); got != "memory-2, the only instance that held it, ended" {
		t.Errorf("memory-2 ended: its session %q", got)
	}
	if got := w.Gone(user(statelab.Redis, "redis-2")); got != "" {
		t.Errorf("redis-2 ended, and a redis session is gone: %q (it lives in Redis)", got)
	}
	if f := w.firstFault(statelab.Memory); f.IsZero() || !w.firstFault(statelab.JWT).IsZero() {
		t.Errorf("the faults: memory %v, jwt %v; want memory's, none for jwt", f, w.firstFault(statelab.JWT))
	}
	if got := w.redisUsers(); !slices.Equal(got, []statelab.Variant{statelab.Redis}) {
		t.Errorf("the variants that wait on Redis: %v", got)
	}
	w.denylist = true
	if got := w.redisUsers(); !slices.Equal(got, []statelab.Variant{statelab.Redis, statelab.JWT}) {
		t.Errorf("with the denylist on, the variants that wait on Redis: %v", got)
	}
	w.redisWiped = time.Now()
	if got := w.Gone(user(statelab.Redis, "redis-1")); got != "Redis lost its data" {
		t.Errorf("Redis wiped: a redis session %q", got)
	}
	if got := w.Gone(user(statelab.Cookie, "cookie-1")); got != "" {
		t.Errorf("Redis wiped: a cookie session %q", got)
	}
}
