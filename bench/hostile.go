package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"statelab/lb/api"

	"statelab/internal/child"
)

// HostileRow is what one kind of hostile input did to a lab lb in front of
// healthy backends.
type HostileRow struct {
	Case string
	// Answer is what the hostile side got.
	Answer string
	// Healthy and Failed count the requests of healthy clients meanwhile,
	// and those that failed (an error or a status other than 200).
	Healthy, Failed int
	// MarkedDown counts backends the balancer marked down meanwhile.
	MarkedDown int
	// PeakRSS is the balancer's peak resident memory (VmHWM) after the
	// case, and BaseRSS before it.
	PeakRSS, BaseRSS int64
}

// malformed are requests no healthy client sends: broken framing, another
// protocol, a header too large.
var malformed = []string{
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbody\r\n0\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", // then gone
}

// Hostile runs a lab lb in front of three lab server instances and a
// hostile backend, and measures three cases: healthy clients while others
// send malformed requests (perSecond a second for d); a backend that
// answers with a 400 MB header; a backend that sends 103 Early Hints
// without end.
func Hostile(ctx context.Context, o Options, perSecond int, d time.Duration) ([]HostileRow, error) {
	var procs []*child.Process
	defer func() {
		for _, p := range procs {
			p.End(syscall.SIGTERM)
		}
	}()
	start := func(name string, args []string, ready string) (*child.Process, error) {
		p := &child.Process{Name: name}
		if err := p.Start(o.Exe, args, os.Environ(), nil); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		procs = append(procs, p)
		if err := p.WaitHTTP(ctx, ready, 10*time.Second); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return p, nil
	}
	var pool []string
	for i := 1; i <= 3; i++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("b%d", i)
		if _, err := start(name, []string{"server", "--variant", "jwt", "--name", name, "--addr", addr, "--log-level", "error"}, "http://"+addr+"/healthz"); err != nil {
			return nil, err
		}
		pool = append(pool, name+"@"+addr)
	}
	evil, err := newEvilBackend()
	if err != nil {
		return nil, err
	}
	defer evil.Close()
	healthyAddr, evilAddr, adminAddr := mustAddr(), mustAddr(), mustAddr()
	lbProc, err := start("lab lb", []string{"lb",
		"--pool", "healthy=" + healthyAddr + "=" + strings.Join(pool, ","),
		"--pool", "evil=" + evilAddr + "=evil@" + evil.Addr().String(),
		"--admin", adminAddr, "--log-level", "error"}, "http://"+healthyAddr+"/healthz")
	if err != nil {
		return nil, err
	}
	admin := &api.Client{Base: "http://" + adminAddr}
	downs := func() (int, error) {
		st, err := admin.Status(ctx)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, p := range st.Pools {
			if p.Name != "healthy" {
				continue
			}
			for _, b := range p.Backends {
				if b.State != api.Up || strings.HasPrefix(b.Why, "passive") {
					n++
				}
			}
		}
		return n, nil
	}
	var rows []HostileRow

	// 1. Malformed requests among healthy ones.
	base := peakRSS(lbProc.Pid())
	before, err := eventCount(ctx, admin, api.EventDown)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	answers := map[int]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(max(perSecond, 1)))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			answers[sendRaw(healthyAddr, malformed[i%len(malformed)], i%len(malformed) == len(malformed)-1)]++
		}
	}()
	r := Load(ctx, []string{"http://" + healthyAddr + "/healthz"}, 8, d)
	close(stop)
	wg.Wait()
	after, err := eventCount(ctx, admin, api.EventDown)
	if err != nil {
		return nil, err
	}
	down, err := downs()
	if err != nil {
		return nil, err
	}
	codes := slices.Sorted(maps.Keys(answers))
	var got []string
	for _, code := range codes {
		name := strconv.Itoa(code)
		if code == 0 {
			name = "none (it left)"
		}
		got = append(got, fmt.Sprintf("%d × %s", answers[code], name))
	}
	rows = append(rows, HostileRow{
		Case:    fmt.Sprintf("%d malformed requests/s for %s", perSecond, d),
		Answer:  "to them: " + strings.Join(got, ", ") + " (405: framed by Transfer-Encoding, a POST / the backend refused)",
		Healthy: r.Requests + r.Errors, Failed: r.Errors,
		MarkedDown: max(after-before, down),
		BaseRSS:    base, PeakRSS: peakRSS(lbProc.Pid()),
	})

	// 2 and 3. A backend's answer without end.
	for _, c := range []struct{ name, path, limit string }{
		{"a backend's 400 MB header", "/huge-header", "a header is read up to 64 KiB"},
		{"a backend's endless 103 Early Hints", "/endless-1xx", "up to 100 informational answers are read"},
	} {
		base := peakRSS(lbProc.Pid())
		status, took := get("http://" + evilAddr + c.path)
		rows = append(rows, HostileRow{
			Case:    c.name,
			Answer:  fmt.Sprintf("the client: %s after %.1f ms (%s)", status, float64(took.Microseconds())/1000, c.limit),
			BaseRSS: base, PeakRSS: peakRSS(lbProc.Pid()),
		})
	}
	return rows, nil
}

func mustAddr() string {
	a, err := freeAddr()
	if err != nil {
		panic(err)
	}
	return a
}

// sendRaw sends a request on a new connection and returns the status of the
// answer (0 for none); gone closes the connection right after sending.
func sendRaw(addr, req string, gone bool) int {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, req); err != nil || gone {
		return 0
	}
	buf := make([]byte, 64)
	n, _ := io.ReadAtLeast(c, buf, 12)
	code, _ := strconv.Atoi(strings.TrimSpace(string(buf[min(9, n):min(12, n)])))
	return code
}

func get(url string) (string, time.Duration) {
	hc := &http.Client{Timeout: 60 * time.Second}
	t0 := time.Now()
	resp, err := hc.Get(url)
	if err != nil {
		return "no answer (" + err.Error() + ")", time.Since(t0)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.Status, time.Since(t0)
}

func eventCount(ctx context.Context, admin *api.Client, typ api.EventType) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	stream, err := admin.Events(ctx, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	// The kept events come first, at once; the stream then waits for new
	// ones, which the deadline ends.
	idle := time.NewTimer(300 * time.Millisecond)
	defer idle.Stop()
	for {
		select {
		case ev, ok := <-stream:
			if !ok {
				return n, nil
			}
			if ev.Type == typ && ev.Pool == "healthy" {
				n++
			}
			idle.Reset(300 * time.Millisecond)
		case <-idle.C:
			return n, nil
		}
	}
}

// peakRSS is a process's peak resident memory (VmHWM), 0 where /proc has
// none.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// evilBackend answers health checks properly, and /huge-header with a
// header that never ends (400 MB), /endless-1xx with 103s until the
// connection closes.
type evilBackend struct {
	net.Listener
	wg sync.WaitGroup
}

func newEvilBackend() (*evilBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &evilBackend{Listener: ln}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.serve(c)
			}()
		}
	}()
	return e, nil
}

func (e *evilBackend) Close() error {
	err := e.Listener.Close()
	e.wg.Wait()
	return err
}

func (e *evilBackend) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return
	}
	line := string(buf[:n])
	path := ""
	if f := strings.Fields(line); len(f) > 1 {
		path = f[1]
	}
	write := func(s string) bool {
		_, err := io.WriteString(c, s)
		return err == nil
	}
	switch path {
	case "/huge-header":
		if !write("HTTP/1.1 200 OK\r\nX-Big: ") {
			return
		}
		chunk := strings.Repeat("a", 1<<20)
		for i := 0; i < 400; i++ {
			if !write(chunk) {
				return
			}
		}
	case "/endless-1xx":
		hint := strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n", 1000)
		for i := 0; i < 40000; i++ { // about 2.4 GB at the most
			if !write(hint) {
				return
			}
		}
	default:
		write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	}
}
