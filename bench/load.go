package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// LoadResult is what a load run measured.
type LoadResult struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	// P50 and P99 are latency percentiles of the successful requests.
	P50, P99 time.Duration
}

// RPS is successful requests per second.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Load sends GET requests to urls, in turn, from concurrency workers on
// keep-alive connections, for d. It is the one load generator every target
// of the balancer table gets.
func Load(ctx context.Context, urls []string, concurrency int, d time.Duration) LoadResult {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type worker struct {
		lat    []time.Duration
		errors int
	}
	workers := make([]worker, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &workers[i]
			w.lat = make([]time.Duration, 0, 1<<14)
			reqs := make([]*http.Request, len(urls))
			for j, u := range urls {
				reqs[j], _ = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			}
			buf := make([]byte, 4096)
			for n := i; ctx.Err() == nil; n++ {
				req := reqs[n%len(reqs)]
				t0 := time.Now()
				resp, err := transport.RoundTrip(req)
				if err != nil {
					if ctx.Err() == nil {
						w.errors++
					}
					continue
				}
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					w.errors++
					continue
				}
				if ctx.Err() == nil {
					w.lat = append(w.lat, time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	res := LoadResult{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		res.Errors += w.errors
	}
	res.Requests = len(all)
	if len(all) > 0 {
		slices.Sort(all)
		res.P50 = all[len(all)/2]
		res.P99 = all[len(all)*99/100]
	}
	return res
}

// drain reads and discards a body.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }
