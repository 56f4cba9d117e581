package remote

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"statelab"
	"statelab/lab"
)

// fakeLab answers what an attach asks; anything else would panic.
type fakeLab struct{ lab.Runtime }

func (fakeLab) Describe() string                    { return "fake" }
func (fakeLab) Endpoints() lab.Endpoints            { return lab.Endpoints{} }
func (fakeLab) Instances(statelab.Variant) []string { return nil }

// TestLeaseExpires: a runner that stops renewing (killed) lets go of the
// lab after LeaseTTL; its lease is refused afterwards.
func TestLeaseExpires(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewServer(fakeLab{})
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	post := func(path, lease, body string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("X-Statelab-Lease", lease)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/attach", "", `{"who":"a"}`); code != 200 {
		t.Fatalf("attach: %d", code)
	}
	lease := s.lease
	now = now.Add(LeaseTTL - time.Second)
	if code := post("/renew", lease, `{}`); code != 200 || s.Holder() != "a" {
		t.Fatalf("renew in time: %d, holder %q", code, s.Holder())
	}
	now = now.Add(LeaseTTL + time.Second)
	if s.Holder() != "" {
		t.Errorf("after the lease ran out, held by %q", s.Holder())
	}
	if code := post("/renew", lease, `{}`); code != http.StatusConflict {
		t.Errorf("the expired lease: %d, want 409", code)
	}
	if code := post("/attach", "", `{"who":"b"}`); code != 200 {
		t.Errorf("attach after expiry: %d", code)
	}
}

// TestHostileCalls: with a valid lease, a call that is not in the table,
// a malformed body, a bad instance name or an unknown variant is a 4xx
// that names the mistake, and never reaches the runtime (fakeLab would
// panic).
func TestHostileCalls(t *testing.T) {
	s := NewServer(fakeLab{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	post := func(path, lease, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("X-Statelab-Lease", lease)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("/attach", "", `{"who":"a"}`); code != 200 {
		t.Fatalf("attach: %d", code)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		says       string
	}{
		{"/format-disk", `{}`, http.StatusNotFound, "no such call"},
		{"/call", `{}`, http.StatusNotFound, "no such call"},
		{"/kill", `{"name":`, http.StatusBadRequest, "bad JSON"},
		{"/kill", `{"name":"../../etc"}`, http.StatusBadRequest, "not an instance name"},
		{"/set-keys", `{}`, http.StatusBadRequest, "not an instance name"},
		{"/add", `{"name":"mongo-1","variant":"mongo"}`, http.StatusBadRequest, "add: unknown variant"},
		{"/add", `{"name":"x-1","variant":"` + strings.Repeat("v", 5000) + `"}`, http.StatusBadRequest, "unknown variant"},
	} {
		code, body := post(tc.path, s.lease, tc.body)
		if code != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("POST %s %.40s: %d %s, want %d saying %q", tc.path, tc.body, code, body, tc.status, tc.says)
		}
	}
	for op, c := range calls {
		if c.run == nil {
			t.Errorf("call %q has no run", op)
		}
	}
}
