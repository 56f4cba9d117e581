package remote

import (
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
