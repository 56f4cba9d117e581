package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"statelab"
	"statelab/internal/child"
)

// FloodRow is what a flood of logins did to one memory instance.
type FloodRow struct {
	Case string
	// Logins is how many were answered 200, Limited 429, Failed anything
	// else (or nothing).
	Logins, Limited, Failed int
	// Sessions held and Evicted at the end, from /stats; Max its bound.
	Sessions, Evicted, Max int64
	// PeakRSS is the instance's peak resident memory (VmHWM).
	PeakRSS int64
}

// Flood starts one `lab server --variant memory` with its defaults and
// floods it with logins for d from conc connections: first as one client,
// which its login limit holds back, then as a new client every request (a
// forged X-Forwarded-For from a loopback peer, which the instance trusts as
// it trusts the balancer's), which only its bound on sessions holds.
func Flood(ctx context.Context, o Options, conc int, d time.Duration) ([]FloodRow, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &child.Process{Name: "memory-1"}
	if err := p.Start(o.Exe, []string{"server", "--variant", "memory", "--name", "memory-1", "--addr", addr, "--log-level", "error"}, os.Environ(), nil); err != nil {
		return nil, err
	}
	defer p.End(syscall.SIGTERM)
	if err := p.WaitHTTP(ctx, "http://"+addr+"/healthz", 10*time.Second); err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var rows []FloodRow
	for _, c := range []struct {
		name    string
		forward func() string
	}{
		{"one client", func() string { return "" }},
		{"a new client every login", func() string {
			return fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), rand.IntN(256))
		}},
	} {
		row, err := flood(ctx, hc, "http://"+addr, conc, d, c.forward)
		if err != nil {
			return nil, err
		}
		row.Case = fmt.Sprintf("%s, %d connections, %s", c.name, conc, d)
		row.PeakRSS = peakRSS(p.Pid())
		rows = append(rows, row)
		o.progress("flood: %s: %d logins, %d refused 429, %d sessions held, %d evicted, peak RSS %d MB", row.Case, row.Logins, row.Limited, row.Sessions, row.Evicted, row.PeakRSS>>20)
	}
	return rows, nil
}

func flood(ctx context.Context, hc *http.Client, base string, conc int, d time.Duration, forward func() string) (FloodRow, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok, limited, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				body := fmt.Sprintf(`{"user":"flood%d-%d","password":"%s"}`, w, n, statelab.DemoPassword)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if f := forward(); f != "" {
					req.Header.Set("X-Forwarded-For", f)
				}
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				drain(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	row := FloodRow{Logins: int(ok.Load()), Limited: int(limited.Load()), Failed: int(failed.Load())}
	resp, err := hc.Get(base + "/stats")
	if err != nil {
		return row, err
	}
	defer resp.Body.Close()
	var st statelab.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return row, err
	}
	row.Sessions, row.Evicted, row.Max = st.Sessions, st.Evicted, st.Max
	return row, nil
}
