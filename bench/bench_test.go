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
	if len(rows) != 2*len(statelab.Variants) || redis == "" {
		t.Fatalf("%d rows, redis %q", len(rows), redis)
	}
	cred := map[statelab.Variant][]int{}
	for _, s := range sizes {
		cred[s.Variant] = append(cred[s.Variant], s.Credential)
	}
	if c := cred[statelab.JWT]; len(c) != 3 || c[2] <= c[0] {
		t.Errorf("jwt credential sizes %v: want growth with the cart", c)
	}
	for _, s := range sizes {
		if s.Variant == statelab.Cookie && s.Items == 100 && (s.Saved >= 100 || s.Saved < 20 || s.Credential > 4096+len("Cookie: ")) {
			t.Errorf("cookie at 100 items: %+v, want fewer saved and a cookie a browser keeps", s)
		}
	}
	if c := cred[statelab.Memory]; len(c) != 3 || c[2] != c[0] {
		t.Errorf("memory credential sizes %v: want the same cookie", c)
	}
}

// TestParseWrk reads a wrk report: successful requests, errors of both
// kinds, and the two percentiles.
func TestParseWrk(t *testing.T) {
	report := `Running 3s test @ http://127.0.0.1:19100/healthz
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.47ms    0.92ms  11.96ms   80.36%
    Req/Sec    21.37k     2.72k   26.81k    53.33%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    2.10ms
     99%    4.42ms
  63821 requests in 3.00s, 18.50MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  21268.19
Transfer/sec:      6.17MB
`
	r, err := bench.ParseWrk(report)
	if err != nil {
		t.Fatal(err)
	}
	want := bench.LoadResult{Requests: 63821 - 10, Errors: 10, Elapsed: 3 * time.Second, P50: 812 * time.Microsecond, P99: 4420 * time.Microsecond}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := bench.ParseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("a report without figures was read")
	}
}
