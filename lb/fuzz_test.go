package lb_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"statelab/lb/api"

	"statelab/lb"
)

// FuzzRequest sends arbitrary bytes to a pool as a client would: whatever
// they are, the balancer answers without a server error of its own, never
// blames its healthy backend, and keeps serving.
//
//	go test -run '^$' -fuzz FuzzRequest -fuzztime 60s ./lb/
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /cart HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nCookie: statelab_backend=nope\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
		"\x16\x03\x01\x00\xa5\x01",
	} {
		f.Add([]byte(seed))
	}
	a := newRecorder(f, "a")
	bl, admin := startLB(f, lb.Config{ClientTimeout: time.Second}, lb.PoolSpec{Name: "p", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "a", Addr: a.addr()}}})
	addr := bl.Pool("p").Addr()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		out, _ := io.ReadAll(c)
		for _, line := range strings.Split(string(out), "\r\n") {
			if !strings.HasPrefix(line, "HTTP/1.1 5") {
				continue
			}
			if code := statusOf(line); code != http.StatusHTTPVersionNotSupported {
				t.Fatalf("answered %q to %q", line, data)
			}
		}
		ps, err := admin.Pool(context.Background(), "p")
		if err != nil {
			t.Fatal(err)
		}
		if b := ps.Backends[0]; b.State != api.Up {
			t.Fatalf("after %q the healthy backend is %s (%s)", data, b.State, b.Why)
		}
	})
}
