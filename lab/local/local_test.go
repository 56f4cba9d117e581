package local_test

import (
	"context"
	"strings"
	"testing"

	"statelab/internal/labredis"
	"statelab/internal/labtest"
	"statelab/internal/redistest"
	"statelab/lab/local"
	"statelab/lb"
	"statelab/lb/api"
	"statelab/scenarios"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestProcesses runs the scenarios that kill, stop and restart instances
// and Redis on real processes, with redis-server: the signals are real
// signals, the memory that dies is a process's.
func TestProcesses(t *testing.T) {
	if !labredis.ServerOnPath() {
		redistest.Absent(t, "redis-server is not on PATH (apt-get install redis-server)")
	}
	rt, err := local.Start(context.Background(), local.Options{Redis: labredis.Server, Exe: labtest.Binary(t), RedisTimeout: scenarios.StoreTimeoutFloor})
	if err != nil {
		t.Fatalf("start the local lab: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	// Another user of this machine cannot drive the balancer: its admin
	// API wants the lab's token, even on loopback.
	ep := rt.Endpoints()
	if len(ep.AdminToken) < lb.MinTokenLen || !strings.Contains(ep.StatusURL(), "#token=") {
		t.Errorf("admin token %q, status page %s: want a token, in the page's fragment", ep.AdminToken, ep.StatusURL())
	}
	if err := (&api.Client{Base: ep.Admin}).Backend(context.Background(), "memory", "memory-1", api.Disable); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("disabling memory-1 without the token: %v, want 401", err)
	}
	if _, err := (&api.Client{Base: ep.Admin, Token: ep.AdminToken}).Status(context.Background()); err != nil {
		t.Errorf("with the token: %v", err)
	}
	j := labtest.Scenarios(t, rt, 30, "kill-instance", "rolling-restart", "redis-down", "config-drift")
	if !strings.Contains(j.Runtime, "redis-server") {
		t.Errorf("runtime %q does not name redis-server", j.Runtime)
	}
	for _, s := range j.Scenarios {
		if s.Name == "kill-instance" {
			if d := s.Variants["jwt"].DetectSeconds; d == nil || *d < 0 {
				t.Errorf("kill-instance jwt detect: %v, want the time the balancer took to mark jwt-2 down", d)
			}
		}
	}
}

// TestEmbeddedRedis runs the scenarios that depend on Redis's behaviour with
// the embedded Redis, the one a machine without redis-server gets.
func TestEmbeddedRedis(t *testing.T) {
	rt, err := local.Start(context.Background(), local.Options{Redis: labredis.Embedded, Exe: labtest.Binary(t), RedisTimeout: scenarios.StoreTimeoutFloor})
	if err != nil {
		t.Fatalf("start the local lab: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	j := labtest.Scenarios(t, rt, 30, "redis-down", "logout-replay", "key-rotation")
	if !strings.Contains(j.Runtime, "embedded") {
		t.Errorf("runtime %q does not say the Redis is embedded", j.Runtime)
	}
}
