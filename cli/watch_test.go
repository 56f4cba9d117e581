package cli_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"statelab/lb/api"

	"statelab/cli"
	"statelab/lb"
)

// TestWatchOnce: lab watch prints the balancer's pools, backends and their
// states once when its output is not a terminal.
func TestWatchOnce(t *testing.T) {
	bl, err := lb.New(lb.Config{Policy: api.Sticky}, lb.PoolSpec{Name: "jwt", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "jwt-1", Addr: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := bl.Admin(lb.AdminOptions{Token: "watch-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(handler)
	defer admin.Close()
	e, out, errb := env(map[string]string{"STATELAB_ADMIN_TOKEN": "watch-token-0123456789"})
	if code := cli.Main(context.Background(), []string{"watch", "--admin", admin.URL}, e); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"statelab balancer at " + admin.URL, "jwt on", "sticky (a user whose pinned backend is gone is pinned to another)", "jwt-1", "health checks: GET /healthz"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	e, _, errb = env(nil)
	if code := cli.Main(context.Background(), []string{"watch", "--admin", admin.URL}, e); code != 2 || !strings.Contains(errb.String(), "401") {
		t.Errorf("without the token: exit %d, %s; want 2 and the 401", code, errb.String())
	}
}
