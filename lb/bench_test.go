package lb_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"statelab/lb"
)

// BenchmarkProxy measures the balancer's own cost per request: GET through a
// round-robin pool of three in-process backends on loopback TCP, from
// parallel clients. Compare with BenchmarkDirect, the same requests without
// the balancer.
func BenchmarkProxy(b *testing.B) {
	bs := benchBackends(b)
	bl, _ := startLB(b, lb.Config{}, lb.PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: bs})
	benchGet(b, []string{"http://" + bl.Pool("p").Addr() + "/x"})
}

// BenchmarkDirect is BenchmarkProxy without the balancer.
func BenchmarkDirect(b *testing.B) {
	var urls []string
	for _, s := range benchBackends(b) {
		urls = append(urls, "http://"+s.Addr+"/x")
	}
	benchGet(b, urls)
}

func benchBackends(b *testing.B) []lb.BackendSpec {
	var out []lb.BackendSpec
	for i := 0; i < 3; i++ {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"instance":"b","variant":"jwt","status":"ok"}`)
		}))
		b.Cleanup(ts.Close)
		out = append(out, lb.BackendSpec{Name: string(rune('a' + i)), Addr: strings.TrimPrefix(ts.URL, "http://")})
	}
	return out
}

func benchGet(b *testing.B, urls []string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 512)
		for pb.Next() {
			req, _ := http.NewRequest("GET", urls[int(n.Add(1))%len(urls)], nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
}
