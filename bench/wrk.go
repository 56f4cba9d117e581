package bench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoadWrk is Load done by wrk (one thread, as many connections, keep-alive),
// which leaves more of a small machine to the proxies than a Go load
// generator does. A URL each for several backends is loaded by one wrk per
// URL at once, the connections shared out; their requests add up, and the
// percentiles are the highest of them. A wrk that fails counts as a run
// with an error and no request.
func LoadWrk(ctx context.Context, urls []string, concurrency int, d time.Duration) LoadResult {
	secs := max(int((d+time.Second/2)/time.Second), 1)
	per := max(concurrency/len(urls), 1)
	results := make([]LoadResult, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = wrk(ctx, u, per, secs)
		}()
	}
	wg.Wait()
	var out LoadResult
	for _, r := range results {
		out.Requests += r.Requests
		out.Errors += r.Errors
		out.Elapsed = max(out.Elapsed, r.Elapsed)
		out.P50, out.P99 = max(out.P50, r.P50), max(out.P99, r.P99)
	}
	return out
}

func wrk(ctx context.Context, url string, conns, secs int) LoadResult {
	cmd := exec.CommandContext(ctx, "wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s", "--latency", url)
	out, err := cmd.Output()
	if err != nil {
		return LoadResult{Errors: 1, Elapsed: time.Duration(secs) * time.Second}
	}
	r, err := ParseWrk(string(out))
	if err != nil {
		return LoadResult{Errors: 1, Elapsed: time.Duration(secs) * time.Second}
	}
	return r
}

// ParseWrk reads wrk's report (with --latency): requests and their time,
// errors (socket errors and answers other than 2xx or 3xx), p50 and p99.
func ParseWrk(report string) (LoadResult, error) {
	var r LoadResult
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(report))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 5 && f[1] == "requests" && f[2] == "in":
			n, err1 := strconv.Atoi(f[0])
			el, err2 := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			if err1 != nil || err2 != nil {
				return r, fmt.Errorf("wrk: cannot read %q", sc.Text())
			}
			r.Requests, r.Elapsed = n, el
			seen++
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := wrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50 = d
			} else {
				r.P99 = d
			}
			seen++
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.Atoi(strings.TrimSuffix(f[i+1], ","))
				r.Errors += n
			}
		case len(f) >= 5 && f[0] == "Non-2xx":
			n, _ := strconv.Atoi(f[len(f)-1])
			r.Errors += n
		}
	}
	if seen < 3 {
		return r, fmt.Errorf("wrk: no request count or latency distribution in its report")
	}
	r.Requests -= min(r.Errors, r.Requests) // count what succeeded, as Load does
	return r, nil
}

// wrkDuration reads wrk's durations: 812.00us, 1.10ms, 2.03s.
func wrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk: duration %q", s)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk: duration %q", s)
}
