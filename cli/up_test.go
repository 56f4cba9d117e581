package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"statelab/cli"
	"statelab/internal/child"
	"statelab/internal/poll"
	"statelab/internal/ports"
	"statelab/lab/remote"
	"statelab/scenarios/report"
)

// freePorts hands out loopback ports, never the same one twice.
var freePorts ports.Allocator

func freePort(t *testing.T) string {
	t.Helper()
	p, err := freePorts.Free()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p)
}

// upLab is a lab up started by a test: its ports, control socket, output,
// what the test types at its prompt, and its exit code once it ends.
type upLab struct {
	ports     map[string]string
	sock      string
	out, errb *syncBuf
	typed     *io.PipeWriter
	done      chan int
	waitFor   func(s string)
}

// startUp starts lab up on free ports, with its control socket in a
// private directory, and waits for its prompt.
func startUp(t *testing.T) *upLab {
	t.Helper()
	lu := &upLab{ports: map[string]string{}, done: make(chan int, 1)}
	// The control socket lives in a directory only this user can use.
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	lu.sock = private + "/up.sock"
	args := []string{"up", "--instances", "3", "--redis", "embedded", "--control", lu.sock}
	for _, f := range []string{"memory", "redis", "jwt", "cookie", "admin", "live"} {
		lu.ports[f] = freePort(t)
		args = append(args, "--"+f+"-port", lu.ports[f])
	}
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	lu.out, lu.errb = out, errb
	in, typed := io.Pipe()
	lu.typed = typed
	e.Stdin = in
	go func() { lu.done <- cli.Main(context.Background(), args, e) }()
	t.Cleanup(func() { typed.Close() })
	lu.waitFor = func(s string) {
		t.Helper()
		err := poll.Until(context.Background(), 60*time.Second, 20*time.Millisecond, func(context.Context) error {
			if !strings.Contains(out.String(), s) {
				return fmt.Errorf("no %q yet", s)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
		}
	}
	lu.waitFor("> ")
	return lu
}

// TestUp: lab up serves the shop pages on the ports it was given, kills an
// instance when told, says a port in use in one sentence, and leaves
// nothing behind after q.
func TestUp(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	e, _, errb := env(nil)
	// Every other port free: the workshop's own (8081...) may be taken by
	// a stack that runs on this machine.
	busyArgs := []string{"up", "--admin-port", busyPort}
	for _, f := range []string{"memory", "redis", "jwt", "cookie", "live"} {
		busyArgs = append(busyArgs, "--"+f+"-port", freePort(t))
	}
	if code := cli.Main(context.Background(), busyArgs, e); code != 2 || !strings.Contains(errb.String(), "cannot listen on 127.0.0.1:"+busyPort) {
		t.Fatalf("a port in use: exit %d, %q", code, errb.String())
	}

	lu := startUp(t)
	ports, sock, out, errb, typed, done, waitFor := lu.ports, lu.sock, lu.out, lu.errb, lu.typed, lu.done, lu.waitFor
	memory := "http://127.0.0.1:" + ports["memory"]
	if !strings.Contains(out.String(), "memory  "+memory) || !strings.Contains(out.String(), "status  http://127.0.0.1:"+ports["admin"]) {
		t.Fatalf("the URLs are not printed:\n%s", out.String())
	}
	req, _ := http.NewRequest("POST", memory+"/login", strings.NewReader(`{"user":"a","password":"statelab"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	inst := resp.Header.Get("X-Statelab-Instance")
	if resp.StatusCode != 200 || !strings.HasPrefix(inst, "memory-") {
		t.Fatalf("login: %s from %q", resp.Status, inst)
	}
	for _, p := range []string{ports["admin"], ports["live"]} {
		r, err := http.Get("http://127.0.0.1:" + p + "/")
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("page on %s: %v %v", p, r, err)
		}
		r.Body.Close()
	}
	fmt.Fprintf(typed, "%s\nnonsense\nkill %s\n", strings.Repeat("x", 10000), inst)
	waitFor(inst + " killed (SIGKILL)")
	if !strings.Contains(out.String(), "a line over 4096 bytes: ignored") {
		t.Errorf("a line over the bound is not refused:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `unknown scenario "nonsense"`) {
		t.Errorf("an unknown command is not named:\n%s", out.String())
	}
	if r, err := http.Get("http://" + strings.TrimPrefix(memory, "http://") + "/healthz"); err == nil {
		r.Body.Close() // the pool still answers, from the other instance
	} else {
		t.Errorf("the pool does not answer after one instance was killed: %v", err)
	}
	// A scenario from another terminal runs on this lab, which stays up.
	re, rout, rerr := env(map[string]string{"NO_COLOR": "1"})
	if code := cli.Main(context.Background(), []string{"run", "kill-instance", "--up", "--control", sock, "--users", "12"}, re); code != 0 {
		t.Fatalf("lab run --up: exit %d\n%s\n%s", code, rout.String(), rerr.String())
	}
	if !strings.Contains(rout.String(), "attaching to the lab up at "+sock) || !strings.Contains(rout.String(), "run by lab up") {
		t.Errorf("lab run --up does not say where it runs:\n%s", rout.String())
	}
	if r, err := http.Get(memory + "/healthz"); err == nil {
		r.Body.Close()
	} else {
		t.Errorf("the lab ended with lab run --up: %v", err)
	}
	// lab up's own page shows the run from the other terminal, as that
	// run told it: its verdict, the run over, its killed instances down.
	if r, err := http.Get("http://127.0.0.1:" + ports["live"] + "/state"); err != nil {
		t.Error(err)
	} else {
		var st report.LiveState
		json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		if st.Finished == nil || st.Finished.Name != "kill-instance" || !st.Finished.OK || !st.Over || !strings.Contains(st.Runtime, "lab run kill-instance, from another terminal") {
			t.Errorf("lab up's page after lab run --up: runtime %q, over %v, finished %+v", st.Runtime, st.Over, st.Finished)
		}
		for _, v := range st.Order {
			for _, in := range st.Instances[v] {
				if want := in.Name == v+"-2"; (in.State == "down") != want {
					t.Errorf("lab up's page after lab run --up: %s is %s", in.Name, in.State)
				}
			}
		}
	}
	// --hold on lab up: the run keeps the lab (and its lease) as the
	// scenario left it, with the lab up's links, until Enter.
	he, hout, herr := env(map[string]string{"NO_COLOR": "1"})
	in, enter := io.Pipe()
	he.Stdin = in
	held := make(chan int, 1)
	go func() {
		held <- cli.Main(context.Background(), []string{"run", "sticky", "--up", "--control", sock, "--users", "6", "--hold"}, he)
	}()
	err = poll.Until(context.Background(), 60*time.Second, 20*time.Millisecond, func(context.Context) error {
		if !strings.Contains(hout.String(), "the lab up keeps running") {
			return errors.New("not held yet")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("lab run --up --hold: %v\n%s\n%s", err, hout.String(), herr.String())
	}
	if !strings.Contains(hout.String(), "#token=") {
		t.Errorf("the held lab's status link lacks its token:\n%s", hout.String())
	}
	fmt.Fprintln(enter)
	if code := <-held; code != 0 {
		t.Errorf("lab run --up --hold: exit %d after Enter\n%s", code, herr.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "kill-instance", "--up", "--control", sock, "--redis", "server"}, "--redis: not with --up"},
		{[]string{"run", "kill-instance", "--up", "--control", t.TempDir() + "/none.sock"}, "no lab up answers at"},
		{[]string{"run", "kill-instance", "--up", "--control", sock, "--users", "600"}, "at most 500 users"},
	} {
		be, _, berr := env(nil)
		if code := cli.Main(context.Background(), tc.args, be); code != 2 || !strings.Contains(berr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, berr.String(), tc.want)
		}
	}
	// While a runner holds the lab, the prompt changes nothing under it,
	// and q only warns, once.
	holder, err := remote.Dial(context.Background(), sock, "a test runner")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(typed, "kill memory-1")
	waitFor("not now: a test runner is running on this lab; kill memory-1 would spoil its verdict")
	fmt.Fprintln(typed, "q")
	waitFor("a test runner is running on this lab: q again ends the lab under it")
	fmt.Fprintln(typed, "kill-instance")
	waitFor("not now: the lab is busy: a test runner holds it")
	holder.Close()
	// The run left the -2 instances dead: a scenario typed at the prompt
	// resets the lab first.
	fmt.Fprintln(typed, "kill-instance")
	waitFor("kill-instance: every expectation holds")
	fmt.Fprintln(typed, "q")
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after q, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lab up did not end after q")
	}
	if _, err := http.Get(memory + "/healthz"); err == nil {
		t.Error("the balancer still answers after q")
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the control socket is left after q")
	}
	if kids := child.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left after q: %v", kids)
	}
}
