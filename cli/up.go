package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"statelab"
	"statelab/internal/term"
	"statelab/lab"
	"statelab/lab/local"
	"statelab/lab/remote"
	"statelab/lb/api"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

// runUp starts the whole local lab on the compose stack's ports, for
// hands-on work without Docker, and keeps it up until Ctrl-C. A scenario
// name typed at its prompt runs on this very lab, with the live page.
func runUp(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("up", "up [flags]")
	bind := fs.String("bind", "127.0.0.1", "the address the pools, the status page and the live page listen on")
	ports := map[statelab.Variant]*int{}
	for i, v := range statelab.Variants {
		ports[v] = fs.Int(string(v)+"-port", 8081+i, "the "+string(v)+" pool's port")
	}
	adminPort := fs.Int("admin-port", 9000, "the balancer's status page and admin API's port")
	livePort := fs.Int("live-port", 8090, "the live page's port (0: none)")
	policy := fs.String("policy", string(api.Sticky), "every pool's policy at start (a browser keeps its instance with "+string(api.Sticky)+"):\n"+policyNames())
	redisMode := fs.String("redis", "auto", "auto (redis-server if on PATH, else embedded), server or embedded")
	instances := fs.Int("instances", 3, "instances per variant (1 to 9; the scenarios need 3 or more)")
	logs := fs.Bool("logs", false, "show every process's log lines on stderr")
	control := fs.String("control", remote.DefaultSocket(), "the control socket lab run --up drives this lab through (this user only)")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if err := checkRedis(*redisMode); err != nil {
		return err
	}
	if *instances < 1 || *instances > 9 {
		return UsageError{fmt.Errorf("--instances %d: want 1 to 9", *instances)}
	}
	if _, err := api.ParsePolicy(*policy); err != nil {
		return UsageError{fmt.Errorf("--policy: %w", err)}
	}
	// What calibration chooses on all but a crowded machine, from the start.
	opts := local.Options{Redis: *redisMode, Instances: *instances, Policy: *policy, Pools: map[statelab.Variant]string{}, RedisTimeout: scenarios.StoreTimeoutFloor}
	if *logs {
		opts.Logs = env.Stderr
	}
	// Every port is checked before anything starts, so that a port in use
	// is one clear sentence and nothing is left half started.
	taken := map[int]string{}
	check := func(what string, port int) (string, error) {
		if port < 1 || port > 65535 {
			return "", UsageError{fmt.Errorf("%s port %d: want 1 to 65535", what, port)}
		}
		if other, dup := taken[port]; dup {
			return "", UsageError{fmt.Errorf("%s and %s both want port %d", other, what, port)}
		}
		taken[port] = what
		addr := net.JoinHostPort(*bind, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", StartupError{fmt.Errorf("%s: cannot listen on %s: %v\nIs the compose stack up (docker compose down), or another lab up? Or move it: --%s-port", what, addr, err, strings.Fields(what)[0])}
		}
		ln.Close()
		return addr, nil
	}
	for _, v := range statelab.Variants {
		addr, err := check(string(v)+" pool", *ports[v])
		if err != nil {
			return err
		}
		opts.Pools[v] = addr
	}
	var err error
	if opts.Admin, err = check("admin status page", *adminPort); err != nil {
		return err
	}
	liveAddr := ""
	if *livePort != 0 {
		if liveAddr, err = check("live page", *livePort); err != nil {
			return err
		}
	}

	out := env.Stdout
	fmt.Fprintln(out, "statelab: starting the local lab...")
	start := time.Now()
	rt, err := local.Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return ExitCodeError{130}
		}
		return StartupError{err}
	}
	defer rt.Close()
	var live *report.Live
	liveURL := ""
	if liveAddr != "" {
		var stop func()
		if live, liveURL, stop, err = serveLive(liveAddr); err != nil {
			return StartupError{err}
		}
		defer stop()
	}
	ctl, stopControl, err := serveControl(rt, *control)
	if err != nil {
		return StartupError{err}
	}
	defer stopControl()
	if live != nil {
		ctl.OnReset(live.ResetElsewhere) // its page no longer shows the lab as it is
		ctl.OnTell(tellLive(live, ctl))  // and shows the run that reset it, as it goes
		// While no run holds the lab, the page shows the instances as they
		// are (people click around in it); a run tells its own readings.
		go func() {
			if err := scenarios.Watch(ctx, rt, live, 2*time.Second, func() bool { return ctl.Holder() != "" }); err != nil && ctx.Err() == nil {
				fmt.Fprintf(env.Stderr, "live page: cannot follow the balancer: %v\n", err)
			}
		}()
	}
	removeToken, err := remote.WriteToken(*control, rt.Endpoints().AdminToken)
	if err != nil {
		return StartupError{err}
	}
	defer removeToken()
	upIn := time.Since(start)
	cal, err := scenarios.Calibrate(ctx, rt, false)
	if err != nil {
		if ctx.Err() != nil {
			return ExitCodeError{130}
		}
		return StartupError{err}
	}
	fmt.Fprintf(out, "lab: %s (up in %.1f s)\ntiming: %s\n\n", rt.Endpoints().About, upIn.Seconds(), cal.Line)
	ep := rt.Endpoints()
	for _, v := range statelab.Variants {
		fmt.Fprintf(out, "  %-7s %s   (shop page: log in, add to the cart, see which instance answers)\n", v, ep.Pools[v])
	}
	fmt.Fprintf(out, "  status  %s   (the balancer: backends up or down, drain, disable, policy)\n", ep.StatusURL())
	if liveURL != "" {
		fmt.Fprintf(out, "  live    %s   (every virtual user of a scenario typed below)\n", liveURL)
	}
	runCmd := "lab run NAME --up"
	if *control != remote.DefaultSocket() {
		runCmd += " --control " + *control
	}
	fmt.Fprintf(out, "  runs    %s   (from another terminal: a scenario on this lab)\n", runCmd)
	fmt.Fprintf(out, "\nEvery pool starts %s: a browser stays on the instance that first answered it.\n", *policy)
	upHelp(out)

	lines := make(chan string)
	go func() {
		defer close(lines)
		in := bufio.NewReaderSize(env.Stdin, maxUpLine)
		for {
			line, err := readLine(in)
			if line != "" || err == nil {
				select {
				case lines <- strings.TrimSpace(line):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	text := report.NewText(out, isTerminal(out) && env.Getenv("NO_COLOR") == "", false)
	text.SetWidth(textWidth(out, env))
	warned := false
	for {
		select {
		case <-ctx.Done():
			stopControl() // no runner starts anything while the lab ends
			rt.Close()
			fmt.Fprintln(out, "\nstopped: every process of the lab has ended")
			return nil
		case line, ok := <-lines:
			if !ok {
				lines = nil // the input is closed: only Ctrl-C ends the lab
				continue
			}
			if done, err := upCommand(ctx, out, line, rt, ctl, &warned, text, live, &cal); done || err != nil {
				stopControl()
				rt.Close()
				fmt.Fprintln(out, "stopped: every process of the lab has ended")
				return err
			}
			upPrompt(out)
		}
	}
}

// tellLive shows on lab up's live page the run a lab run --up tells it
// (its events): the run is named as the runner attached.
func tellLive(live *report.Live, ctl *remote.Server) func(json.RawMessage) {
	var mu sync.Mutex
	teller := &scenarios.Teller{Obs: live}
	return func(raw json.RawMessage) {
		var events []scenarios.OutputEvent
		if json.Unmarshal(raw, &events) != nil {
			return // not a run's events: nothing to show
		}
		for i, e := range events {
			if e.Kind == scenarios.OutRun {
				events[i].Text = term.Clean(e.Text + " · " + ctl.Holder() + ", from another terminal")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		teller.Tell(events)
	}
}

// maxUpLine bounds a line typed at lab up's prompt.
const maxUpLine = 4096

// readLine reads a line of at most maxUpLine bytes; the rest of a longer
// one is read and dropped, and the line comes back as tooLong.
func readLine(in *bufio.Reader) (string, error) {
	b, prefix, err := in.ReadLine()
	if !prefix {
		return string(b), err
	}
	for prefix && err == nil {
		_, prefix, err = in.ReadLine()
	}
	return tooLong, err
}

// tooLong stands for a line over maxUpLine bytes (no one can type it).
const tooLong = "\x00too long"

func upHelp(out io.Writer) {
	fmt.Fprint(out, "\nType kill NAME (SIGKILL, e.g. kill memory-2), stop NAME (SIGTERM), start NAME, a scenario's name\n"+
		"to run it on this lab (list: their names; help: this again), or q (or Ctrl-C) to stop the lab.\n> ")
}

func upPrompt(out io.Writer) { fmt.Fprint(out, "> ") }

// upCommand runs one line typed at lab up's prompt; done reports q.
// A q while a lab run --up holds the lab only warns, once (warned).
func upCommand(ctx context.Context, out io.Writer, line string, rt *local.Runtime, ctl *remote.Server, warned *bool, text *report.Text, live *report.Live, cal *scenarios.Calibration) (done bool, err error) {
	if ctl.Holder() == "" {
		*warned = false
	}
	switch line {
	case "":
		return false, nil
	case tooLong:
		fmt.Fprintf(out, "a line over %d bytes: ignored\n", maxUpLine)
		return false, nil
	case "q", "quit", "stop", "exit":
		if h := ctl.Holder(); h != "" && !*warned {
			*warned = true
			fmt.Fprintf(out, "%s is running on this lab: q again ends the lab under it (its verdict would then be wrong)\n", h)
			return false, nil
		}
		return true, nil
	case "help", "?", "h":
		upHelp(out)
		return false, nil
	case "list", "ls":
		for _, s := range catalog.All() {
			fmt.Fprintf(out, "  %-16s %s\n", s.Name, s.Summary)
		}
		return false, nil
	}
	if verb, name, ok := strings.Cut(line, " "); ok && (verb == "kill" || verb == "stop" || verb == "start") {
		name = strings.TrimSpace(name)
		if h := ctl.Holder(); h != "" {
			// The run's expectations count only what it did itself.
			fmt.Fprintf(out, "not now: %s is running on this lab; %s %s would spoil its verdict\n", h, verb, name)
			return false, nil
		}
		var err error
		switch verb {
		case "kill":
			err = rt.Kill(ctx, name)
		case "stop":
			err = rt.Stop(ctx, name)
		default:
			err = rt.Start(ctx, name, lab.Settings{})
		}
		if err != nil {
			fmt.Fprintf(out, "%s %s: %v\n", verb, name, err)
			return false, nil
		}
		what := map[string]string{"kill": "killed (SIGKILL): its memory is gone; the balancer marks it down at its next health check",
			"stop": "stopped (SIGTERM)", "start": "started again, a new process that remembers nothing"}[verb]
		fmt.Fprintf(out, "%s %s\n", name, what)
		return false, nil
	}
	scs, err := catalog.Find(line)
	if err != nil {
		fmt.Fprintf(out, "%v (help: what can be typed)\n", err)
		return false, nil
	}
	release, err := ctl.Acquire("a scenario typed at lab up's prompt")
	if err != nil {
		fmt.Fprintf(out, "not now: %v; type it again when that run ends\n", err)
		return false, nil
	}
	defer release()
	obs := []scenarios.Observer{text}
	if live != nil {
		obs = append(obs, live)
	}
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: 30, Seed: 1, Observers: obs, Used: true, Calibration: cal})
	if err != nil {
		fmt.Fprintf(out, "cannot run it on this lab: %v\n", err)
		return false, nil
	}
	fmt.Fprintln(out, "running on this lab: it is reset first (instances restarted, Redis emptied, pools round-robin), so a browser's session ends")
	defer rn.Close()
	if _, err := rn.Run(ctx, scs); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(out, "the scenario did not run to its end: %v\n", err)
	}
	if live != nil {
		live.End("the lab stays up: type another scenario in the terminal, or q")
	}
	fmt.Fprintln(out, "\nthe lab stays as the scenario left it (policies too); type another name, or q")
	return false, nil
}

// policyNames lists the balancer's policies: "round-robin, least-conn, sticky".
func policyNames() string {
	names := make([]string, len(api.Policies))
	for i, p := range api.Policies {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
