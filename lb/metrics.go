package lb

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"statelab/lb/api"
)

// latencyBuckets are the upper bounds, in seconds, of the latency histogram.
var latencyBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// backendStats are a backend's counters, updated without locks.
type backendStats struct {
	byClass  [6]atomic.Int64 // responses by status class: 1xx at [1] ... 5xx at [5]
	failures [numFailures]atomic.Int64
	buckets  [len(latencyBuckets)]atomic.Int64
	count    atomic.Int64
	sumNanos atomic.Int64
}

func (s *backendStats) observe(status int, d time.Duration) {
	if c := status / 100; c >= 1 && c <= 5 {
		s.byClass[c].Add(1)
	}
	sec := d.Seconds()
	for i, le := range latencyBuckets {
		if sec <= le {
			s.buckets[i].Add(1)
			break
		}
	}
	s.count.Add(1)
	s.sumNanos.Add(int64(d))
}

func (s *backendStats) fail(f failure) { s.failures[f].Add(1) }

func (s *backendStats) requests() int64 {
	var n int64
	for i := range s.byClass {
		n += s.byClass[i].Load()
	}
	return n + s.errorsTotal()
}

func (s *backendStats) errorsTotal() int64 {
	var n int64
	for i := range s.failures {
		n += s.failures[i].Load()
	}
	return n
}

// writeMetrics writes every pool's metrics in the Prometheus text format.
func (bl *Balancer) writeMetrics(w io.Writer) {
	type series struct {
		name, help, kind string
		lines            []string
	}
	var out []*series
	add := func(name, help, kind string) *series {
		s := &series{name: name, help: help, kind: kind}
		out = append(out, s)
		return s
	}
	reqs := add("statelab_lb_responses_total", "Responses from backends, by status class.", "counter")
	fails := add("statelab_lb_backend_failures_total", "Attempts that got no usable response: connect, timeout, reset, invalid (too large or malformed), or local (the balancer out of resources).", "counter")
	lat := add("statelab_lb_backend_latency_seconds", "Time to a backend's response headers.", "histogram")
	inflight := add("statelab_lb_backend_in_flight", "Requests in flight to a backend.", "gauge")
	up := add("statelab_lb_backend_up", "1 if the backend passes its health checks.", "gauge")
	state := add("statelab_lb_backend_state", "The backend's state (1 for its current state).", "gauge")
	retries := add("statelab_lb_retries_total", "Requests retried on another backend.", "counter")
	repins := add("statelab_lb_repins_total", "Sticky users moved to another backend.", "counter")
	noneUp := add("statelab_lb_no_backend_total", "Requests answered 503 because no backend could take them.", "counter")
	strays := add("statelab_lb_backend_strays_total", "Connections to a backend closed because it sent bytes nobody asked for.", "counter")
	conns := add("statelab_lb_client_connections", "Client connections open.", "gauge")
	refused := add("statelab_lb_refused_connections_total", "Client connections answered 503 and closed at once: over the pool's share or out of file descriptors (full), or over one client address's part (address).", "counter")
	shedding := add("statelab_lb_shedding", "1 while the pool's listener fails to accept for want of resources (it retries).", "gauge")
	clientErrs := add("statelab_lb_client_errors_total", "Requests the balancer refused for the client's own fault (malformed, too large, too slow), never sent to a backend.", "counter")
	for _, p := range bl.pools {
		pl := fmt.Sprintf(`pool=%q`, p.Name)
		retries.lines = append(retries.lines, fmt.Sprintf("{%s} %d", pl, p.retries.Load()))
		repins.lines = append(repins.lines, fmt.Sprintf("{%s} %d", pl, p.repins.Load()))
		noneUp.lines = append(noneUp.lines, fmt.Sprintf("{%s} %d", pl, p.noneUp.Load()))
		clientErrs.lines = append(clientErrs.lines, fmt.Sprintf("{%s} %d", pl, p.clientErrors.Load()))
		conns.lines = append(conns.lines, fmt.Sprintf("{%s} %d", pl, p.clients.open()))
		refused.lines = append(refused.lines, fmt.Sprintf(`{%s,why="full"} %d`, pl, p.refusedFull.Load()), fmt.Sprintf(`{%s,why="address"} %d`, pl, p.refusedAddress.Load()))
		shedding.lines = append(shedding.lines, fmt.Sprintf("{%s} %d", pl, boolInt(!p.Shedding().IsZero())))
		for _, b := range p.Backends() {
			l := fmt.Sprintf(`pool=%q,backend=%q`, p.Name, b.Name)
			for c := 1; c <= 5; c++ {
				reqs.lines = append(reqs.lines, fmt.Sprintf(`{%s,code="%dxx"} %d`, l, c, b.stats.byClass[c].Load()))
			}
			for f := failure(0); f < numFailures; f++ {
				if f == failClient {
					continue // a client's fault is counted per pool, never per backend
				}
				fails.lines = append(fails.lines, fmt.Sprintf(`{%s,kind=%q} %d`, l, f, b.stats.failures[f].Load()))
			}
			var cum int64
			for i, le := range latencyBuckets {
				cum += b.stats.buckets[i].Load()
				lat.lines = append(lat.lines, fmt.Sprintf(`_bucket{%s,le="%s"} %d`, l, strconv.FormatFloat(le, 'g', -1, 64), cum))
			}
			count := b.stats.count.Load()
			lat.lines = append(lat.lines,
				fmt.Sprintf(`_bucket{%s,le="+Inf"} %d`, l, count),
				fmt.Sprintf(`_sum{%s} %g`, l, time.Duration(b.stats.sumNanos.Load()).Seconds()),
				fmt.Sprintf(`_count{%s} %d`, l, count))
			strays.lines = append(strays.lines, fmt.Sprintf("{%s} %d", l, b.strays.Load()))
			inflight.lines = append(inflight.lines, fmt.Sprintf("{%s} %d", l, b.inflight.Load()))
			up.lines = append(up.lines, fmt.Sprintf("{%s} %d", l, boolInt(b.healthy.Load())))
			cur := b.State()
			for _, s := range api.States {
				state.lines = append(state.lines, fmt.Sprintf(`{%s,state=%q} %d`, l, s, boolInt(cur == s)))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	for _, s := range out {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", s.name, s.help, s.name, s.kind)
		for _, line := range s.lines {
			fmt.Fprintf(w, "%s%s\n", s.name, line)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
