package bench_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"statelab"
	"sync/atomic"
	"testing"
	"time"

	"statelab/bench"
)

// TestLoad: the load generator spreads requests over its URLs, counts them
// and errors, and orders its percentiles.
func TestLoad(t *testing.T) {
	var hits [2]atomic.Int64
	var urls []string
	for i := range hits {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			if r.URL.Path == "/fail" {
				w.WriteHeader(http.StatusBadGateway)
			}
			io.WriteString(w, "ok")
		}))
		defer ts.Close()
		urls = append(urls, ts.URL+"/x")
	}
	r := bench.Load(context.Background(), urls, 4, 200*time.Millisecond)
	if r.Requests == 0 || r.Errors != 0 || r.P50 > r.P99 || r.RPS() <= 0 {
		t.Fatalf("%+v", r)
	}
	if hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Errorf("hits %d and %d: want both URLs used", hits[0].Load(), hits[1].Load())
	}
	if r := bench.Load(context.Background(), []string{urls[0][:len(urls[0])-2] + "/fail"}, 2, 100*time.Millisecond); r.Errors == 0 || r.Requests != 0 {
		t.Errorf("failing target: %+v, want errors and no successful requests", r)
	}
}

// TestVariants: the variants table measures each variant and request, and
// the sizes grow for the token, not for the cookie.
func TestVariants(t *testing.T) {
	rows, sizes, redis, err := bench.Variants(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || redis == "" {
		t.Fatalf("%d rows, redis %q", len(rows), redis)
	}
	cred := map[statelab.Variant][]int{}
	for _, s := range sizes {
		cred[s.Variant] = append(cred[s.Variant], s.Credential)
	}
	if c := cred[statelab.JWT]; len(c) != 3 || c[2] <= c[0] {
		t.Errorf("jwt credential sizes %v: want growth with the cart", c)
	}
	if c := cred[statelab.Memory]; len(c) != 3 || c[2] != c[0] {
		t.Errorf("memory credential sizes %v: want the same cookie", c)
	}
}
