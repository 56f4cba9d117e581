package servers_test

import (
	"context"
	"testing"

	"statelab"

	"statelab/internal/containertest"
)

// TestKillContainer runs an instance of each variant as a container of the
// lab image, logs a user in, kills the container with SIGKILL, starts it
// again, and checks what the user sees: the memory variant has forgotten it,
// the redis and jwt variants have not.
func TestKillContainer(t *testing.T) {
	nw := containertest.Network(t)
	containertest.Redis(t, nw)
	for _, tc := range []struct {
		v     statelab.Variant
		after int
	}{
		{statelab.Memory, 401},
		{statelab.Redis, 200},
		{statelab.JWT, 200},
	} {
		t.Run(string(tc.v), func(t *testing.T) {
			name := string(tc.v) + "-1"
			ctr, base := containertest.Server(t, nw, name, map[string]string{
				"STATELAB_VARIANT": string(tc.v),
				"STATELAB_NAME":    name,
				"STATELAB_REDIS":   "redis:6379",
			})
			u := newUser(t)
			want(t, "login", u.login(base, "zoe"), 200)
			want(t, "add", u.do("POST", base+"/cart", map[string]any{"item": "plum", "qty": 3}), 200)
			containertest.Kill(t, ctr)
			if err := ctr.Start(context.Background()); err != nil {
				t.Fatalf("start again: %v", err)
			}
			again := containertest.BaseURL(t, ctr)
			moveCookies(t, u, base, again)
			r := u.do("GET", again+"/me", nil)
			want(t, "me after the kill", r, tc.after)
			if tc.after == 200 && (len(r.body.Cart) != 1 || r.body.Cart[0].Item != "plum") {
				t.Errorf("cart after the kill: %v", r.body.Cart)
			}
		})
	}
}
