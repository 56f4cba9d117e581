package lb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"statelab/internal/poll"
	"statelab/lb"
	"statelab/lb/api"
)

// dialFrom connects to addr from another loopback address (Linux answers
// for all of 127.0.0.0/8): a second client machine, on one host.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("cannot dial from %s: %v", from, err)
	}
	return c
}

// TestOneAddressCannotTakeThePool: one client address that opens slow
// connections (a header line now and then, never the end) gets its part
// of the pool and no more, each over it answered 503 at once; a slow
// header is cut at the read deadline; another client is served all along.
func TestOneAddressCannotTakeThePool(t *testing.T) {
	a := newRecorder(t, "a")
	l := newLab(t, lb.Config{MaxConns: 40, MaxPerAddress: 10, ReadTimeout: 400 * time.Millisecond}, spec("p", a.backend))
	addr := l.bl.Pool("p").Addr()
	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	refused := 0
	wrote := time.Now()
	for range 40 {
		c := dialFrom(t, "127.0.0.2", addr)
		slow = append(slow, c)
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n")
	}
	// The ones over the address's part are answered 503 and closed.
	admitted := map[int]bool{}
	for i, c := range slow {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		switch {
		case strings.Contains(line, " 503 "):
			refused++
			if refused == 1 { // what it says: JSON naming the bound
				rest, _ := io.ReadAll(io.LimitReader(br, 4096))
				if !strings.Contains(string(rest), `"error":"pool p: 127.0.0.2 holds 10 connections to this pool, the most one client address may"`) {
					t.Errorf("a refused connection was told %q", rest)
				}
			}
		case strings.Contains(line, " 408 "): // admitted, and already cut
		default:
			admitted[i] = true
		}
	}
	if refused != 30 {
		t.Errorf("%d of 40 connections from one address refused at once, want 30 (its part is 10)", refused)
	}
	for i := range 10 {
		resp, err := http.Get("http://" + addr + fmt.Sprintf("/healthy-%d", i))
		if err != nil {
			t.Fatalf("a client from another address: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("a client from another address got %d while one address holds its part", resp.StatusCode)
		}
	}
	// The admitted slow ones are cut at the read deadline (400 ms), not
	// held for the whole client timeout.
	for i, c := range slow {
		if !admitted[i] {
			continue
		}
		c.SetReadDeadline(wrote.Add(5 * time.Second))
		if out, err := io.ReadAll(c); err != nil {
			t.Errorf("slow connection %d still open %s after its header began: %v", i, time.Since(wrote).Round(time.Millisecond), err)
		} else if !strings.Contains(string(out), " 408 ") {
			t.Errorf("slow connection %d got %q, want 408", i, firstLine(string(out)))
		}
	}
	if st := l.bl.Pool("p").Status(); st.RefusedAddress != 30 || st.MaxPerAddress != 10 {
		t.Errorf("status: refused for the address %d (want 30), max per address %d (want 10)", st.RefusedAddress, st.MaxPerAddress)
	}
}

// TestUpgradesBounded: one client address cannot take every upgraded
// connection, and a client that stops reading does not keep its place:
// the backend ends its stream, the balancer's write to the client times
// out, and the join ends, giving the place back.
func TestUpgradesBounded(t *testing.T) {
	u := serveRaw(t, func(c net.Conn, br *bufio.Reader, req *http.Request) bool {
		if req.Header.Get("Upgrade") == "" {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		if req.URL.Path == "/flood" {
			// More than any socket buffers, then gone.
			chunk := strings.Repeat("x", 64<<10)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			for range 256 {
				if _, err := io.WriteString(c, chunk); err != nil {
					break
				}
			}
			return false
		}
		io.Copy(c, br)
		return false
	})
	l := newLab(t, lb.Config{MaxUpgrades: 8, MaxUpgradesPerAddress: 2, ClientTimeout: 300 * time.Millisecond}, spec("p", u))
	addr := l.bl.Pool("p").Addr()
	upgrade := func(c net.Conn, path string) (int, *bufio.Reader) {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", path)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, br
		}
		c.SetReadDeadline(time.Time{})
		return resp.StatusCode, br
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	codes := map[int]int{}
	for range 5 {
		c := dialFrom(t, "127.0.0.2", addr)
		conns = append(conns, c)
		code, _ := upgrade(c, "/ws")
		codes[code]++
	}
	if codes[101] != 2 || codes[503] != 3 {
		t.Errorf("one address's 5 upgrades: %v, want 2 switched (101) and 3 refused (503)", codes)
	}
	other, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, other)
	if code, _ := upgrade(other, "/ws"); code != 101 {
		t.Errorf("another address's upgrade: %d, want 101", code)
	}
	// A reader that stops reading: the backend floods it, then closes.
	flood, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, flood)
	if tc, ok := flood.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	if code, _ := upgrade(flood, "/flood"); code != 101 {
		t.Fatalf("the flood's upgrade: %d, want 101", code)
	}
	untilBackend(t, l.admin, "p", 10*time.Second, func(b api.BackendStatus) error {
		if b.Upgraded != 3 {
			return fmt.Errorf("%d upgraded connections open, want 3 once the flood's join ended", b.Upgraded)
		}
		return nil
	})
}

// TestUpgradeIdleEnds: a joined connection on which nothing moves either
// way for UpgradeIdle is ended, and its place given back; one on which
// bytes move is kept, whichever way they go.
func TestUpgradeIdleEnds(t *testing.T) {
	echo := serveRaw(t, func(c net.Conn, br *bufio.Reader, req *http.Request) bool {
		if req.Header.Get("Upgrade") == "" {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return true
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		io.Copy(c, br)
		return false
	})
	l := newLab(t, lb.Config{UpgradeIdle: 500 * time.Millisecond}, spec("p", echo))
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", l.bl.Pool("p").Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		return c, br
	}
	idle, idleBr := open()
	busy, busyBr := open()
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond { // more than two idle periods
		fmt.Fprintf(busy, "tick\n")
		busy.SetReadDeadline(time.Now().Add(2 * time.Second))
		if line, err := busyBr.ReadString('\n'); err != nil || line != "tick\n" {
			t.Fatalf("a busy join ended: %q %v", line, err)
		}
		time.Sleep(50 * time.Millisecond) // the client's own pace, not a wait for a condition
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idleBr.ReadString('\n'); err == nil || isTimeout(err) {
		t.Errorf("an idle join outlived 500 ms of silence by %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	untilBackend(t, l.admin, "p", 5*time.Second, func(b api.BackendStatus) error {
		if b.Upgraded != 1 {
			return fmt.Errorf("%d upgraded connections open, want the busy one", b.Upgraded)
		}
		return nil
	})
}

// TestStrayAnswerNeverCrosses: a backend that answers 503 (a timeout
// reply) and then, a moment later, the handler's own answer on the same
// connection: the next client must never get it. A backend that sends
// bytes unasked on an idle connection is counted, and its connection
// closed.
func TestStrayAnswerNeverCrosses(t *testing.T) {
	strayed := make(chan struct{}, 1)
	be := serveRaw(t, func(c net.Conn, br *bufio.Reader, req *http.Request) bool {
		switch path := req.URL.Path; {
		case strings.HasPrefix(path, "/alice-late"):
			fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 7\r\n\r\ntimeout")
			time.Sleep(2 * time.Millisecond)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nalice secret")
		case strings.HasPrefix(path, "/alice-idle"):
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalice")
			time.Sleep(time.Millisecond)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nalice secret")
			strayed <- struct{}{}
		default:
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), path)
		}
		return true
	})
	l := newLab(t, lb.Config{}, spec("p", be))
	base := "http://" + l.bl.Pool("p").Addr()
	crossed := 0
	for i := range 50 {
		get(t, base+"/alice-late")
		if body := get(t, base+fmt.Sprintf("/bob-%d", i)); body != fmt.Sprintf("/bob-%d", i) {
			crossed++
		}
	}
	if crossed > 0 {
		t.Errorf("Bob got someone else's answer in %d of 50 rounds", crossed)
	}
	get(t, base+"/alice-idle")
	select { // the stray is sent while the connection is idle
	case <-strayed:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend never sent its stray answer")
	}
	if body := get(t, base+"/bob-idle"); body != "/bob-idle" {
		t.Errorf("Bob got %q after an idle stray, want his own answer", body)
	}
	if ps, err := l.admin.Pool(context.Background(), "p"); err != nil || ps.Backends[0].Strays == 0 {
		t.Errorf("the backend's strays: %+v (%v), want counted", ps, err)
	}
}

// serveRaw is a backend written at the socket that keeps its connections:
// handle answers each request (health checks included) however it likes,
// and says whether to read the next request on the connection.
func serveRaw(t *testing.T, handle func(c net.Conn, br *bufio.Reader, req *http.Request) bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(open, c); mu.Unlock(); c.Close() }()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if req.Header.Get("Upgrade") == "" {
						io.Copy(io.Discard, req.Body)
					}
					if !handle(c, br, req) {
						return
					}
				}
			}()
		}
	}()
	return &backend{name: "raw", raw: ln.Addr().String()}
}

// get fetches u on a kept-alive connection and returns the body.
func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := keepAlive.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(body)
}

var keepAlive = &http.Client{Timeout: 5 * time.Second}

// fdChildEnv makes the test binary a balancer with at most 1,024 open
// files (fdChild), for TestDescriptorExhaustion.
const fdChildEnv = "STATELAB_LB_FD_CHILD"

// fdChild runs four pools, each over a backend of its own, with the open
// files limited to 1,024 as `ulimit -n 1024` does, prints the pools'
// addresses on a line, and serves until its stdin closes.
func fdChild() int {
	lim := syscall.Rlimit{Cur: 1024, Max: 1024}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 1
	}
	var specs []lb.PoolSpec
	for i := range 4 {
		be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		defer be.Close()
		specs = append(specs, lb.PoolSpec{Name: fmt.Sprintf("p%d", i), Listen: "127.0.0.1:0",
			Backends: []lb.BackendSpec{{Name: fmt.Sprintf("b%d", i), Addr: strings.TrimPrefix(be.URL, "http://")}}})
	}
	bl, err := lb.New(lb.Config{HealthInterval: 100 * time.Millisecond}, specs...)
	if err == nil {
		err = bl.Open()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go bl.Serve()
	var addrs []string
	for _, p := range bl.Pools() {
		addrs = append(addrs, p.Addr())
	}
	fmt.Println(strings.Join(addrs, " "))
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bl.Shutdown(ctx)
	return 0
}

// TestDescriptorExhaustion: a balancer limited to 1,024 open files, 400
// idle connections opened to each of its four pools (more than the
// process could hold), then closed: every pool answers again. Each pool
// takes its share of the descriptors and answers the rest 503; none
// stops accepting for good.
func TestDescriptorExhaustion(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the balancer did not start: %v", err)
	}
	addrs := strings.Fields(line)
	if len(addrs) != 4 {
		t.Fatalf("the balancer said %q, want four addresses", line)
	}
	var held []net.Conn
	refused := 0
	for _, a := range addrs {
		for range 400 {
			c, err := net.DialTimeout("tcp", a, 2*time.Second)
			if err != nil {
				refused++
				continue
			}
			held = append(held, c)
		}
	}
	for _, c := range held {
		c.Close()
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, a := range addrs {
		err := poll.Until(context.Background(), 15*time.Second, 50*time.Millisecond, func(context.Context) error {
			resp, err := c.Get("http://" + a + "/")
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("answered %d", resp.StatusCode)
			}
			return nil
		})
		if err != nil {
			t.Errorf("pool at %s after 4 × 400 connections were closed: %v", a, err)
		}
	}
	t.Logf("%d connections opened, %d dials failed", len(held), refused)
}
