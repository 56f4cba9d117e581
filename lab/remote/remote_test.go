package remote_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"statelab/lb/api"

	"statelab/lab"
	"statelab/lab/inproc"
	"statelab/lab/remote"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
)

// serve starts an in-process lab served on a Unix socket, as lab up does.
func serve(t *testing.T) (*inproc.Runtime, *remote.Server, string) {
	t.Helper()
	rt, err := inproc.Start(context.Background(), inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "up.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := remote.NewServer(rt)
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return rt, srv, path
}

// TestRemoteRunsAScenario: a scenario run through the client acts on the
// served lab and shows what it shows there (kill-instance: memory keeps
// 20 users, loses 10); closing the client leaves the lab running.
func TestRemoteRunsAScenario(t *testing.T) {
	rt, srv, path := serve(t)
	ctx := context.Background()
	c, err := remote.Dial(ctx, path, "lab run (test)")
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Holder(); got != "lab run (test)" {
		t.Errorf("holder %q", got)
	}
	if c.Endpoints().Admin != rt.Endpoints().Admin || len(c.Instances("memory")) != 3 || !strings.HasSuffix(c.Endpoints().About, "run by lab up") {
		t.Errorf("the client's lab: %+v, %v, %q", c.Endpoints(), c.Instances("memory"), c.Endpoints().About)
	}
	rn, err := scenarios.NewRunner(ctx, c, scenarios.Options{Users: 30})
	if err != nil {
		t.Fatal(err)
	}
	scs, _ := catalog.Find("kill-instance")
	j, err := rn.Run(ctx, scs)
	rn.Close()
	if err != nil || !j.OK {
		t.Fatalf("kill-instance through the socket: %v, ok %v", err, j != nil && j.OK)
	}
	m := j.Scenarios[0].Variants["memory"]
	if m.Of(scenarios.Kept) != 20 || m.Of(scenarios.Lost) != 10 {
		t.Errorf("memory: %v, want 20 kept and 10 lost", m.Count)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if srv.Holder() != "" {
		t.Errorf("after Close the lab is still held by %q", srv.Holder())
	}
	client := &api.Client{Base: rt.Endpoints().Admin}
	if _, err := client.Status(ctx); err != nil {
		t.Errorf("the lab ended with the client: %v", err)
	}
}

// TestRemoteOneAtATime: while one runner holds the lab, a second attach
// and the server's own Acquire are refused with who holds it; a call
// without the lease, a malformed body, an unknown call and a body too
// large get 4xx; a socket with nobody behind it is one clear sentence.
func TestRemoteOneAtATime(t *testing.T) {
	_, srv, path := serve(t)
	ctx := context.Background()
	c, err := remote.Dial(ctx, path, "first")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := remote.Dial(ctx, path, "second"); err == nil || !strings.Contains(err.Error(), "first holds it") {
		t.Errorf("a second attach: %v, want refused naming the first", err)
	}
	if _, err := srv.Acquire("the prompt"); err == nil || !strings.Contains(err.Error(), "first holds it") {
		t.Errorf("Acquire while attached: %v", err)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	for _, tc := range []struct {
		what, path, lease, body string
		status                  int
	}{
		{"no lease", "/kill", "", `{"name":"memory-1"}`, http.StatusConflict},
		{"a made-up lease", "/kill", "00", `{"name":"memory-1"}`, http.StatusConflict},
		{"attach without a name", "/attach", "", `{}`, http.StatusBadRequest},
		{"attach, malformed", "/attach", "", `{"who":`, http.StatusBadRequest},
		{"attach, too large", "/attach", "", `{"who":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusBadRequest},
		{"GET", "/attach", "", "", http.StatusNotFound},
	} {
		method := http.MethodPost
		if tc.what == "GET" {
			method = http.MethodGet
		}
		req, _ := http.NewRequest(method, "http://up"+tc.path, bytes.NewReader([]byte(tc.body)))
		if tc.lease != "" {
			req.Header.Set("X-Statelab-Lease", tc.lease)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.what, resp.StatusCode, tc.status)
		}
	}
	if err := c.Kill(ctx, "no-such-1"); err == nil {
		t.Error("killing an instance that does not exist: no error")
	}
	if err := c.Kill(ctx, "../../tmp/x"); err == nil || !strings.Contains(err.Error(), "is not an instance name") {
		t.Errorf("a name with a path in it: %v", err)
	}
	if _, err := c.Add(ctx, "mongo", "mongo-1", lab.Settings{}); err == nil || !strings.Contains(err.Error(), `unknown variant "mongo"`) {
		t.Errorf("an unknown variant: %v", err)
	}
	c.Close()
	release, err := srv.Acquire("the prompt")
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if _, err := remote.Dial(ctx, path, "third"); err == nil || !strings.Contains(err.Error(), "the prompt holds it") {
		t.Errorf("attach while the prompt runs a scenario: %v", err)
	}
	release()
	if _, err := remote.Dial(ctx, filepath.Join(t.TempDir(), "none.sock"), "x"); err == nil || !strings.Contains(err.Error(), "no lab up answers at") {
		t.Errorf("no socket: %v", err)
	}

}
