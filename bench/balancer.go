package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"statelab/internal/child"
	"statelab/internal/ports"
)

// target is one way of reaching the pool of three backends.
type target struct {
	name string
	urls []string
	note string // why it was skipped, when it was
	pid  int    // the proxy's process (with its children), for its CPU time
}

// BalancerRow is one target's figures: medians over the rounds.
type BalancerRow struct {
	Target string
	RPS    float64
	P50    time.Duration
	P99    time.Duration
	// CPU is the proxy process's own CPU time per request (0 for direct,
	// or when it cannot be read).
	CPU time.Duration
	// Alone is the median latency with one connection: what the hop adds
	// when nothing waits in a queue.
	Alone   time.Duration
	Errors  int
	Skipped string
}

// Loader names the load generator of the balancer table.
func Loader() string {
	if _, err := exec.LookPath("wrk"); err == nil {
		return "wrk"
	}
	return "go"
}

// Balancer measures the pool served directly, through lab lb, and through
// nginx and HAProxy each set up two ways (one worker or thread, and one
// per core), with the same load, in alternation, for several rounds.
func Balancer(ctx context.Context, o Options) ([]BalancerRow, []string, error) {
	dir, err := os.MkdirTemp("", "statelab-bench-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)

	var procs []*child.Process
	defer func() {
		for _, p := range procs {
			p.End(syscall.SIGTERM)
		}
	}()
	start := func(name, exe string, args []string, ready string) (*child.Process, error) {
		p := &child.Process{Name: name}
		if err := p.Start(exe, args, append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU())), nil); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		procs = append(procs, p)
		if err := p.WaitHTTP(ctx, ready, 10*time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	var backends []string
	for i := 1; i <= 3; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("backend-%d", i)
		if _, err := start(name, o.Exe, []string{"server", "--variant", "jwt", "--name", name, "--addr", addr, "--log-level", "error"}, "http://"+addr+"/healthz"); err != nil {
			return nil, nil, err
		}
		backends = append(backends, addr)
	}
	path := "/healthz"
	direct := target{name: "direct"}
	for _, b := range backends {
		direct.urls = append(direct.urls, "http://"+b+path)
	}
	targets := []*target{&direct}
	var notes []string

	// lab lb, with its defaults
	labAddr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	var pool []string
	for i, b := range backends {
		pool = append(pool, fmt.Sprintf("b%d@%s", i+1, b))
	}
	lbProc, err := start("lab lb", o.Exe, []string{"lb", "--pool", "bench=" + labAddr + "=" + strings.Join(pool, ","), "--admin", "", "--log-level", "error"}, "http://"+labAddr+path)
	if err != nil {
		return nil, nil, err
	}
	targets = append(targets, &target{name: "lab lb", urls: []string{"http://" + labAddr + path}, pid: lbProc.Pid()})

	// nginx and HAProxy, with one worker (thread), then one per core.
	for _, peer := range []struct {
		name  string
		start func(context.Context, string, []string, int, starter) (*target, error)
	}{{"nginx", startNginx}, {"haproxy", startHAProxy}} {
		for _, workers := range []int{1, runtime.NumCPU()} {
			name := fmt.Sprintf("%s ×%d", peer.name, workers)
			t, err := peer.start(ctx, dir, backends, workers, start)
			if err != nil {
				notes = append(notes, name+" skipped: "+err.Error())
				targets = append(targets, &target{name: name, note: err.Error()})
				continue
			}
			t.name = name
			targets = append(targets, t)
		}
	}

	load := Load
	if Loader() == "wrk" {
		load = LoadWrk
	}
	results := map[string][]LoadResult{}
	cpus := map[string][]time.Duration{}
	alone := map[string][]time.Duration{}
	for round := 0; round < o.Rounds; round++ {
		// Rotate the order every round, so that no target always runs
		// first (or after the same neighbour).
		order := slices.Clone(targets)
		for i := 0; i < round%len(order); i++ {
			order = append(order[1:], order[0])
		}
		for _, t := range order {
			if t.urls == nil {
				continue
			}
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			load(ctx, t.urls, o.Concurrency, o.Warmup) // connections up, caches warm
			before, ok1 := cpuTime(t.pid)
			r := load(ctx, t.urls, o.Concurrency, o.Duration)
			after, ok2 := cpuTime(t.pid)
			results[t.name] = append(results[t.name], r)
			one := Load(ctx, t.urls, 1, o.Duration/3)
			alone[t.name] = append(alone[t.name], one.P50)
			if ok1 && ok2 && r.Requests > 0 {
				cpus[t.name] = append(cpus[t.name], (after-before)/time.Duration(r.Requests))
			}
			o.progress("round %d/%d  %-11s %8.0f req/s  p50 %s  p99 %s  errors %d", round+1, o.Rounds, t.name, r.RPS(), us(r.P50), us(r.P99), r.Errors)
		}
	}
	var rows []BalancerRow
	for _, t := range targets {
		row := BalancerRow{Target: t.name}
		rs := results[t.name]
		if len(rs) == 0 {
			row.Skipped = t.note
			rows = append(rows, row)
			continue
		}
		var rps []float64
		var p50, p99 []time.Duration
		for _, r := range rs {
			rps = append(rps, r.RPS())
			p50 = append(p50, r.P50)
			p99 = append(p99, r.P99)
			row.Errors += r.Errors
		}
		row.RPS, row.P50, row.P99 = medianF(rps), medianD(p50), medianD(p99)
		if c := cpus[t.name]; len(c) > 0 {
			row.CPU = medianD(c)
		}
		row.Alone = medianD(alone[t.name])
		rows = append(rows, row)
	}
	return rows, notes, nil
}

type starter func(name, exe string, args []string, ready string) (*child.Process, error)

func startNginx(ctx context.Context, dir string, backends []string, workers int, start starter) (*target, error) {
	exe, err := lookPath("nginx")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(dir, fmt.Sprintf("nginx-%d", workers))
	if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
		return nil, err
	}
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %s;\n", b)
	}
	// Keep-alive to the backends, no access log.
	conf := fmt.Sprintf(`worker_processes %d;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream pool {
%[3]s    keepalive 64;
  }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://pool;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`, workers, prefix, servers.String(), addr)
	file := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("nginx", exe, []string{"-p", prefix, "-c", file, "-g", "daemon off;"}, "http://"+addr+"/healthz")
	if err != nil {
		return nil, err
	}
	return &target{name: "nginx", urls: []string{"http://" + addr + "/healthz"}, pid: p.Pid()}, nil
}

func startHAProxy(ctx context.Context, dir string, backends []string, workers int, start starter) (*target, error) {
	exe, err := lookPath("haproxy")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var servers strings.Builder
	for i, b := range backends {
		fmt.Fprintf(&servers, "  server b%d %s\n", i+1, b)
	}
	// Connections to the backends reused, no logging.
	conf := fmt.Sprintf(`global
  nbthread %d
  maxconn 8192
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind %s
  default_backend pool
backend pool
  balance roundrobin
%s`, workers, addr, servers.String())
	file := filepath.Join(dir, fmt.Sprintf("haproxy-%d.cfg", workers))
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("haproxy", exe, []string{"-f", file, "-db"}, "http://"+addr+"/healthz")
	if err != nil {
		return nil, err
	}
	return &target{name: "haproxy", urls: []string{"http://" + addr + "/healthz"}, pid: p.Pid()}, nil
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New(name + " is not installed (scripts/bench.sh --install installs nginx and HAProxy from Debian's packages)")
}

// benchPorts hands out the bench's ports, never one twice.
var benchPorts ports.Allocator

func freeAddr() (string, error) { return benchPorts.Addr() }

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianD(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
