package cli_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"statelab/cli"
	"statelab/internal/child"
	"statelab/internal/labtest"
	"statelab/internal/poll"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

func TestMain(m *testing.M) { labtest.Main(m) }

func TestList(t *testing.T) {
	e, out, _ := env(nil)
	if code := cli.Main(context.Background(), []string{"list"}, e); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range catalog.All() {
		if !strings.Contains(out.String(), s.Name) || !strings.Contains(out.String(), s.Summary) {
			t.Errorf("lab list lacks %s", s.Name)
		}
	}
}

func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "nope"}, `unknown scenario "nope"`},
		{[]string{"run", "sticky", "--users", "0"}, "--users 0"},
		{[]string{"run", "--runtime", "cloud"}, `--runtime "cloud"`},
		{[]string{"run", "--redis", "maybe"}, `--redis "maybe"`},
		{[]string{"run", "--json", "/no/such/dir/j.json"}, "cannot write /no/such/dir/j.json"},
	} {
		e, _, errb := env(nil)
		if code := cli.Main(context.Background(), tc.args, e); code != 2 || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.msg)
		}
	}
}

// TestDryRun: the plan is printed, is the same for the same seed, and no
// process is started; what to expect is shown with --reveal only, so that
// a class can predict first.
func TestDryRun(t *testing.T) {
	run := func(seed string, more ...string) string {
		e, out, errb := env(nil)
		before := child.Children(os.Getpid())
		if code := cli.Main(context.Background(), append([]string{"run", "kill-instance", "--dry-run", "--seed", seed, "--users", "12"}, more...), e); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if after := child.Children(os.Getpid()); len(after) > len(before) {
			t.Errorf("a dry run started processes: %v", after)
		}
		return out.String()
	}
	a, b, c := run("5"), run("5"), run("6")
	if a != b {
		t.Error("the same seed printed two plans")
	}
	if a == c {
		t.Error("two seeds printed the same plan")
	}
	for _, want := range []string{"dry run: nothing is started", "12 users per variant", "step 4/5  kill memory-2, redis-2, jwt-2 and cookie-2 (SIGKILL)", "predictions, not shown"} {
		if !strings.Contains(a, want) {
			t.Errorf("dry run lacks %q:\n%s", want, a)
		}
	}
	if strings.Contains(a, "expect     memory") {
		t.Errorf("a dry run without --reveal tells what to expect:\n%s", a)
	}
	if r := run("5", "--reveal"); !strings.Contains(r, "expect     memory loses exactly") {
		t.Errorf("--reveal does not show what to expect:\n%s", r)
	}
}

// TestPredict: --predict asks one question per variant before the
// scenario and scores the answers against the verdict; an answer it cannot
// read is asked again, and the end of the input leaves the rest unanswered.
func TestPredict(t *testing.T) {
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	e.Stdin = strings.NewReader("all\nmost\nsome\nnone\n") // "most" is asked again; cookie gets none
	if code := cli.Main(context.Background(), []string{"run", "sticky", "--users", "6", "--predict"}, e); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"memory: at “with affinity”, how many of the 6 memory users will keep their session and cart?",
		"memory  you said all; 6 of 6 users kept: all ✓",
		"redis   you said some; 6 of 6 users kept: all ✗",
		"jwt     you said none; 6 of 6 users kept: all ✗",
		"cookie  you said nothing; 6 of 6 users kept: all –",
		"predictions: 1 of 3 answers right",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunReports runs one scenario in step mode, answering the prompts
// through stdin, and checks the JSON and Markdown it writes.
func TestRunReports(t *testing.T) {
	dir := t.TempDir()
	jsonPath, mdPath := filepath.Join(dir, "j.json"), filepath.Join(dir, "r.md")
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	steps := len(mustFind(t, "sticky").Steps)
	e.Stdin = strings.NewReader(strings.Repeat("\n", steps+1)) // each step, then the verdict
	code := cli.Main(context.Background(), []string{"run", "sticky", "--users", "6", "--step", "--json", jsonPath, "--markdown", mdPath}, e)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if n := strings.Count(out.String(), "press Enter to run step"); n != steps {
		t.Errorf("%d prompts, want %d", n, steps)
	}
	if !strings.Contains(out.String(), "press Enter to see the verdict") {
		t.Error("no pause before the verdict")
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colour codes written with NO_COLOR set and no terminal")
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		OK        bool `json:"ok"`
		Scenarios []struct {
			Name         string                       `json:"name"`
			Variants     map[string]map[string]any    `json:"variants"`
			Expectations []struct{ Holds bool }       `json:"expectations"`
			Requests     []map[string]json.RawMessage `json:"requests"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	if !j.OK || len(j.Scenarios) != 1 || j.Scenarios[0].Name != "sticky" {
		t.Fatalf("journal %s", data)
	}
	s := j.Scenarios[0]
	for _, v := range []string{"memory", "redis", "jwt"} {
		for _, k := range []string{"users", "kind", "outcomes", "words"} {
			if _, ok := s.Variants[v][k]; !ok {
				t.Errorf("journal: variants.%s lacks %s", v, k)
			}
		}
	}
	if len(s.Requests) == 0 || s.Requests[0]["instance"] == nil || s.Requests[0]["status"] == nil {
		t.Errorf("journal requests: %v", s.Requests[:1])
	}
	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## sticky", "## Summary", "| variant | users | ✓ kept |", "**Lesson.**", "**Outcomes.**"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// TestStepSkipAndQuit: in step mode, s skips a scenario (exit 0, "skipped",
// never a false FAILED) and q stops the run (exit 130, "stopped by the
// instructor"); either way nothing is left running.
func TestStepSkipAndQuit(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		code        int
		want        string
	}{
		{"skip", strings.Repeat("s\n", 6), 0, "sticky skipped by the instructor"},
		{"quit", "\nq\n", 130, "stopped by the instructor"},
		{"end of input", "\n", 130, "stopped by the instructor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, out, _ := env(map[string]string{"NO_COLOR": "1"})
			e.Stdin = strings.NewReader(tc.input)
			code := cli.Main(context.Background(), []string{"run", "sticky", "--users", "3", "--step"}, e)
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, want %d and %q\n%s", code, tc.code, tc.want, out.String())
			}
			if o := out.String(); strings.Contains(o, "FAILED") || strings.Contains(o, "FAILS  ") || strings.Contains(o, "expectations FAIL") {
				t.Errorf("a failure reported for what the instructor chose:\n%s", out.String())
			}
			if kids := child.Children(os.Getpid()); len(kids) > 0 {
				t.Errorf("processes left: %v", kids)
			}
		})
	}
}

// TestFileNamesAnInstanceTheLabLacks: a scenario file that kills instance
// 6 of a lab of three is refused before anything starts, in one line that
// names the file, the line, the column and the count (exit 2).
func TestFileNamesAnInstanceTheLabLacks(t *testing.T) {
	f := filepath.Join(t.TempDir(), "six.yaml")
	data := "name: six\nsteps:\n  - fill: true\n  - kill: 6\n  - probe: after\nexpect:\n  - {variant: redis, probe: after, outcome: kept, users: all}\n"
	if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	e, out, errb := env(nil)
	if code := cli.Main(context.Background(), []string{"run", f}, e); code != 2 {
		t.Fatalf("exit %d, want 2\n%s\n%s", code, out.String(), errb.String())
	}
	want := "lab run: " + f + ":4:11: kill: 6: this lab runs 3 instances of each variant (1 to 3)\n"
	if errb.String() != want || out.String() != "" {
		t.Errorf("stderr %q, stdout %q; want only %q", errb.String(), out.String(), want)
	}
}

// TestCtrlCAtPrompt: Ctrl-C while the run waits at a --step or --predict
// prompt ends it at once (exit 130, "stopped by the instructor"), with
// nothing left running; it does not wait for Enter.
func TestCtrlCAtPrompt(t *testing.T) {
	for _, tc := range []struct{ flag, prompt string }{
		{"--step", "press Enter to run step 1/"},
		{"--predict", "how many of the 3 memory users"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			e, out, _ := env(map[string]string{"NO_COLOR": "1"})
			in, typing := io.Pipe() // a terminal nobody types into
			t.Cleanup(func() { typing.Close() })
			e.Stdin = in
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() { done <- cli.Main(ctx, []string{"run", "sticky", "--users", "3", tc.flag}, e) }()
			err := poll.Until(context.Background(), 2*time.Minute, 20*time.Millisecond, func(context.Context) error {
				if !strings.Contains(out.String(), tc.prompt) {
					return errors.New("no prompt yet")
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			cancel() // Ctrl-C
			var code int
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("still waiting for Enter a minute after Ctrl-C\n%s", out.String())
			}
			if code != 130 || !strings.Contains(out.String(), "stopped by the instructor") {
				t.Fatalf("exit %d, want 130 and 'stopped by the instructor'\n%s", code, out.String())
			}
			if kids := child.Children(os.Getpid()); len(kids) > 0 {
				t.Errorf("processes left: %v", kids)
			}
		})
	}
}

// TestHold: with --hold the lab stays up after the verdict, the balancer
// still answering, until Enter; then nothing is left.
func TestHold(t *testing.T) {
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	in, enter := io.Pipe()
	e.Stdin = in
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(context.Background(), []string{"run", "round-robin", "--users", "3", "--hold"}, e)
	}()
	var pool string
	err := poll.Until(context.Background(), 60*time.Second, 20*time.Millisecond, func(context.Context) error {
		for _, line := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "memory" && strings.HasPrefix(f[1], "http://") {
				pool = f[1]
				return nil
			}
		}
		return errors.New("no pool URL printed yet")
	})
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "round-robin: every expectation holds") && !strings.Contains(out.String(), "expect    ✓") {
		t.Errorf("held before the verdict was printed:\n%s", out.String())
	}
	resp, err := http.Get(pool + "/healthz")
	if err != nil {
		t.Fatalf("the balancer does not answer while held: %v", err)
	}
	resp.Body.Close()
	select {
	case code := <-done:
		t.Fatalf("the run ended (exit %d) before Enter", code)
	default:
	}
	enter.Write([]byte("\n"))
	if code := <-done; code != 0 {
		t.Errorf("exit %d after Enter, want 0", code)
	}
	if _, err := http.Get(pool + "/healthz"); err == nil {
		t.Error("the balancer still answers after the hold ended")
	}
	if kids := child.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left after the hold: %v", kids)
	}
}

// TestInterruptLeavesNothing interrupts a run as Ctrl-C would, and checks
// that every process the lab started is gone.
func TestInterruptLeavesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	exe, args, envv := labtest.Command("run", "rolling-restart", "--users", "10")
	cmd := exec.Command(exe, args...)
	cmd.Env = envv
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	reached := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "step 4/5") {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("the run never reached step 4")
	}
	if kids := descendants(t, cmd.Process.Pid); len(kids) < 5 {
		t.Fatalf("found %d processes under the lab, want its instances and its balancer", len(kids))
	}
	cmd.Process.Signal(os.Interrupt)
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit after Ctrl-C: %v, want status 130", err)
	}
	// Every process of the lab runs this test binary: once the lab has
	// exited, none but this test may be left.
	err = poll.Until(context.Background(), 5*time.Second, 10*time.Millisecond, func(context.Context) error {
		if left := running(t, exe); len(left) > 0 {
			return fmt.Errorf("processes of the lab still running after the interrupt: %v", left)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// running lists the live processes, other than this one, that run exe.
func running(t *testing.T, exe string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if target, err := os.Readlink("/proc/" + e.Name() + "/exe"); err == nil && target == exe && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func mustFind(t *testing.T, name string) *scenarios.Scenario {
	scs, err := catalog.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return scs[0]
}

func descendants(t *testing.T, pid int) []int {
	var out []int
	for _, c := range child.Children(pid) {
		out = append(out, c)
		out = append(out, descendants(t, c)...)
	}
	return out
}

func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && syscall.Kill(pid, 0) == nil
}

// TestReplay: lab replay tells a recorded run again as it was printed
// (from its plan to its end), after a banner naming when and where it
// was made; a file that is not a journal is one line and exit 2.
func TestReplay(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec.json")
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	if code := cli.Main(context.Background(), []string{"run", "kill-instance", "round-robin", "--users", "6", "--json", rec}, e); code != 0 {
		t.Fatalf("lab run: exit %d\n%s", code, errb.String())
	}
	re, rout, rerr := env(map[string]string{"NO_COLOR": "1"})
	if code := cli.Main(context.Background(), []string{"replay", rec, "--speed", "0"}, re); code != 0 {
		t.Fatalf("lab replay: exit %d\n%s", code, rerr.String())
	}
	from := func(s string) string { _, after, _ := strings.Cut(s, "\nplan: "); return after }
	if from(out.String()) == "" || from(out.String()) != from(rout.String()) {
		t.Errorf("the replay differs from the run.\nrun:\n%s\nreplay:\n%s", out.String(), rout.String())
	}
	if !strings.HasPrefix(rout.String(), "replay: of a run made on ") || !strings.Contains(rout.String(), " cores, ") {
		t.Errorf("the replay's banner: %q", strings.SplitN(rout.String(), "\n", 2)[0])
	}
	// --html alone writes the page and stops: one file, a chart per
	// scenario, nothing fetched from elsewhere.
	page := filepath.Join(t.TempDir(), "report.html")
	he, hout, herr := env(nil)
	if code := cli.Main(context.Background(), []string{"replay", rec, "--html", page}, he); code != 0 {
		t.Fatalf("lab replay --html: exit %d\n%s", code, herr.String())
	}
	body, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hout.String(), "wrote "+page+": 2 scenarios") || strings.Count(string(body), "<svg") != 2 {
		t.Errorf("lab replay --html: %q; %d charts", hout.String(), strings.Count(string(body), "<svg"))
	}
	for _, fetch := range []string{"src=", "<link", "<script", "url(", "@import", `href="http`, `href="//`} {
		if strings.Contains(string(body), fetch) {
			t.Errorf("the page may fetch something from elsewhere: it holds %q", fetch)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"scenarios": []}`), 0o644)
	// A small file that inflates past the bound: refused, not read whole.
	bomb := filepath.Join(t.TempDir(), "bomb.json.gz")
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
	zw.Write([]byte(`{"runtime": "`))
	io.CopyN(zw, zeros{}, scenarios.MaxJournal+1)
	zw.Close()
	os.WriteFile(bomb, zb.Bytes(), 0o644)
	for _, f := range []string{bad, bomb, "/etc/hostname", filepath.Join(t.TempDir(), "none.json")} {
		be, bout, berr := env(nil)
		code := cli.Main(context.Background(), []string{"replay", f}, be)
		if lines := strings.Count(strings.TrimSpace(berr.String()), "\n") + 1; code != 2 || lines != 1 || bout.String() != "" {
			t.Errorf("lab replay %s: exit %d, %d lines: %q", f, code, lines, berr.String())
		}
	}
}

// liveRun starts lab run rolling-restart kill-instance --users 6 --live on
// a free loopback port, and returns the page's address, the run's exit
// code once it ends, and its output.
func liveRun(t *testing.T) (addr string, done <-chan int, out, errb *syncBuf) {
	t.Helper()
	addr, err := freePorts.Addr()
	if err != nil {
		t.Fatal(err)
	}
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Main(context.Background(), []string{"run", "rolling-restart", "kill-instance", "--users", "6", "--live", addr}, e)
	}()
	return addr, exit, out, errb
}

// TestLiveLastAnswer: the live page's state, polled while lab run
// rolling-restart kill-instance --live runs without --hold: its last
// answer is the end of the run, every killed instance down under the
// last verdict, both scenarios finished.
func TestLiveLastAnswer(t *testing.T) {
	addr, done, out, errb := liveRun(t)
	var last *report.LiveState
	seen := int64(-1) // the version drawn, as the page says it
	client := &http.Client{Timeout: time.Second}
	for running := true; running; {
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("lab run: exit %d\n%s\n%s", code, out.String(), errb.String())
			}
			running = false
		case <-time.After(10 * time.Millisecond):
			r, err := client.Get(fmt.Sprintf("http://%s/state?seen=%d", addr, seen))
			if err != nil {
				continue // not up yet, or gone
			}
			var st report.LiveState
			if json.NewDecoder(r.Body).Decode(&st) == nil {
				last, seen = &st, st.Version
			}
			r.Body.Close()
		}
	}
	if last == nil {
		t.Fatal("the live page never answered")
	}
	if !last.Over || last.Finished == nil || last.Finished.Name != "kill-instance" || !last.Finished.OK || len(last.Done) != 2 {
		t.Fatalf("the page's last answer: over %v, finished %+v, done %+v", last.Over, last.Finished, last.Done)
	}
	for _, v := range last.Order {
		if len(last.Instances[v]) != 3 {
			t.Errorf("%s: %d instances in the last answer", v, len(last.Instances[v]))
		}
		for _, in := range last.Instances[v] {
			if want := in.Name == v+"-2"; (in.State == "down") != want {
				t.Errorf("the page's last answer: %s is %s", in.Name, in.State)
			}
		}
	}
}

// zeros reads as endless "0" bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

// TestExampleJournal: the recorded run all in examples/journals (made by
// scripts/record-journal.sh) replays whole: every scenario, every
// expectation holding as recorded, and its HTML page has a chart for each.
func TestExampleJournal(t *testing.T) {
	const example = "../examples/journals/run-all.json.gz"
	j, err := scenarios.LoadJournal(example)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Scenarios) != len(catalog.All()) || !j.OK || !j.OutputWhole {
		t.Fatalf("%s: %d scenarios of %d, ok %v, whole %v", example, len(j.Scenarios), len(catalog.All()), j.OK, j.OutputWhole)
	}
	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	if code := cli.Main(context.Background(), []string{"replay", example, "--speed", "0"}, e); code != 0 {
		t.Fatalf("lab replay: exit %d\n%s", code, errb.String())
	}
	text := out.String()
	for _, s := range j.Scenarios {
		if !strings.Contains(text, s.Name) {
			t.Errorf("the replay never names %s", s.Name)
		}
	}
	if !strings.Contains(text, fmt.Sprintf("%d scenarios in %.1f s: every expectation holds", len(j.Scenarios), j.Seconds)) || strings.Contains(text, "FAILS") {
		t.Errorf("the replay's end:\n%s", text[max(0, len(text)-600):])
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if code := cli.Main(context.Background(), []string{"replay", example, "--html", page}, e); code != 0 {
		t.Fatalf("lab replay --html: exit %d\n%s", code, errb.String())
	}
	body, _ := os.ReadFile(page)
	if n := strings.Count(string(body), "<svg"); n != len(j.Scenarios) {
		t.Errorf("%d charts for %d scenarios", n, len(j.Scenarios))
	}
}
