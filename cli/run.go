package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"statelab/lab"
	"statelab/lab/remote"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
	"statelab/scenarios/spec"
)

func runList(_ context.Context, args []string, env Env) error {
	fs := newFlagSet("list", "list [--theory|--claims]")
	theory := fs.Bool("theory", false, "print the derivation table instead: what each scenario predicts of each variant,\nfrom where its sessions live (Markdown)")
	claims := fs.Bool("claims", false, "print the claims of the seed articles each scenario tests, quoted")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *theory {
		return catalog.WriteTheory(env.Stdout)
	}
	if *claims {
		for _, s := range catalog.All() {
			fmt.Fprintf(env.Stdout, "%s\n", s.Name)
			for _, c := range s.Claims {
				fmt.Fprintf(env.Stdout, "  %s: %s\n", c, c.Text)
			}
		}
		return nil
	}
	for _, s := range catalog.All() {
		fmt.Fprintf(env.Stdout, "%-16s %s\n", s.Name, s.Summary)
	}
	return nil
}

func runRun(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("run", "run [NAME...|all|FILE.yaml] [flags]")
	users := fs.Int("users", 30, "virtual users per variant")
	seed := fs.Uint64("seed", 1, "seed of the plan: the same seed and user count give the same plan")
	jsonOut := fs.String("json", "", "write the journal (every request, outcome and timing) as JSON to this file (- for stdout)")
	mdOut := fs.String("markdown", "", "write the report as Markdown to this file (- for stdout)")
	htmlOut := fs.String("html", "", "write the report as one self-contained HTML page to this file (- for stdout):\nthe grid, and per scenario a timeline of every answer, the verdict and the lesson")
	step := fs.Bool("step", false, "wait for Enter before each step and each verdict (r restarts the scenario, s skips it, q stops)")
	hold := fs.Bool("hold", false, "after the last scenario, keep the lab (and the live page) running as the scenario left it,\nuntil Enter or Ctrl-C")
	verbose := fs.Bool("verbose", false, "print everything: every narration, claim quote, confirmation and table, each time")
	dry := fs.Bool("dry-run", false, "print the plan (steps, not what to expect: see --reveal) and touch nothing")
	legend := fs.Bool("legend", false, "print what \"stateless\" means here, the outcome words and the terms a run uses, and run nothing")
	reveal := fs.Bool("reveal", false, "with --dry-run: print what each variant is expected to show, too")
	predict := fs.Bool("predict", false, "before each scenario, ask one question per variant (all, some or none of its users?),\nthen score the answers against what happened")
	answers := fs.String("answers", "", "with --predict: read the answers from this file, one per line, instead of stdin")
	runtime := fs.String("runtime", "local", "where the lab runs: "+runtimeHelp(",\nor "))
	token := fs.String("admin-token", "", "docker: the balancer's admin token")
	redisMode := fs.String("redis", "auto", "local: auto (redis-server if on PATH, else embedded), server or embedded")
	logs := fs.Bool("logs", false, "local: show every process's log lines on stderr")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the runner (this process) to this file, for go tool pprof")
	liveAddr := fs.String("live", "", "serve a live page of every user's state at this address while the run goes on (e.g. 127.0.0.1:8090)")
	up := fs.Bool("up", false, "run on the lab that lab up keeps running on this machine (its pages stay open; it stays up after)")
	control := fs.String("control", remote.DefaultSocket(), "with --up: lab up's control socket")
	calibrate := onOff(true)
	fs.Var(&calibrate, "calibrate", "before the first scenario, measure this machine for a second and choose the lab's timing\nfrom it (off: keep the lab's own)")
	names, err := parseInterleaved(fs, args, env)
	if err != nil {
		return err
	}
	if *legend {
		text := report.NewText(env.Stdout, false, true)
		text.SetWidth(textWidth(env.Stdout, env))
		text.WriteLegend()
		return nil
	}
	if len(names) == 0 {
		names = []string{"all"}
	}
	scs, err := findScenarios(names)
	if err != nil {
		return UsageError{err}
	}
	if *users < 1 || *users > 100000 {
		return UsageError{fmt.Errorf("--users %d: want 1 to 100000", *users)}
	}
	kind, err := findRuntime(*runtime)
	if err != nil {
		return UsageError{err}
	}
	if err := checkRedis(*redisMode); err != nil {
		return err
	}
	if kind.instances > 0 && !*up {
		// A lab whose size is known before it starts: a scenario file
		// that names another instance is refused before anything starts.
		for _, sc := range scs {
			if sc.Fits != nil {
				if err := sc.Fits(kind.instances); err != nil {
					return StartupError{err}
				}
			}
		}
	}
	// Reports to stdout push the narration to stderr.
	out := env.Stdout
	if *jsonOut == "-" || *mdOut == "-" || *htmlOut == "-" {
		out = env.Stderr
	}
	color := isTerminal(out) && env.Getenv("NO_COLOR") == ""
	plan := scenarios.NewPlan(*seed, *users)
	if *dry {
		return dryRun(out, scs, plan, *redisMode, *reveal)
	}
	if *control != remote.DefaultSocket() && !*up {
		return UsageError{errors.New("--control is for --up")}
	}
	if *answers != "" && !*predict {
		return UsageError{errors.New("--answers is for --predict")}
	}
	var answerFile *os.File
	if *answers != "" {
		if answerFile, err = os.Open(*answers); err != nil {
			return UsageError{fmt.Errorf("--answers: %w", err)}
		}
		defer answerFile.Close()
	}
	for _, f := range []string{*jsonOut, *mdOut, *htmlOut} {
		if f != "" && f != "-" {
			if err := checkWritable(f); err != nil {
				return UsageError{err}
			}
		}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return UsageError{err}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return StartupError{err}
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	var logw io.Writer
	if *logs {
		logw = env.Stderr
	}
	start := time.Now()
	var rt lab.Runtime
	if *up {
		fmt.Fprintf(out, "statelab: attaching to the lab up at %s...\n", *control)
	} else {
		fmt.Fprintf(out, "statelab: starting the lab (%s runtime)...\n", *runtime)
	}
	if *up {
		kind = upKind
		rt, err = attachUp(ctx, fs, *runtime, *control, names, *users)
		if err != nil {
			return err
		}
	} else {
		rt, err = kind.start(ctx, runtimeOptions{redis: *redisMode, logs: logw, users: *users, calibrate: bool(calibrate), adminToken: *token})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ExitCodeError{130}
		}
		return StartupError{err}
	}
	defer rt.Close()
	fmt.Fprintln(out, report.Wrap("lab: ", "          ", fmt.Sprintf("%s (up in %.1f s)", rt.Endpoints().About, time.Since(start).Seconds()), textWidth(out, env)))
	if kind.resets != "" {
		fmt.Fprintln(out, report.Wrap("note: ", "          ", kind.resets, textWidth(out, env)))
	}
	text := report.NewText(out, color, *verbose)
	text.SetWidth(textWidth(out, env))
	stdin := report.NewLines(env.Stdin)
	opts := scenarios.Options{Users: *users, Seed: *seed, Observers: []scenarios.Observer{text}, Used: *up, NoCalibration: !bool(calibrate)}
	liveURL := ""
	var live *report.Live
	if *liveAddr != "" {
		var stop func()
		if live, liveURL, stop, err = serveLive(*liveAddr); err != nil {
			return StartupError{fmt.Errorf("--live: %w", err)}
		}
		defer stop()
		// In the compose stack, the page on the lab service's port 8090 is
		// published on the host's.
		if p := published(env, "live"); p != "" && strings.HasSuffix(*liveAddr, ":8090") {
			liveURL = p
		}
		fmt.Fprintf(out, "live: %s\n", liveURL)
		opts.Observers = append(opts.Observers, live)
	}
	if *step {
		opts.Pacer = &report.Prompter{Text: text, In: stdin, Echo: !isTerminal(env.Stdin)}
	}
	var predictor *report.Predictor
	if *predict {
		in, echo := stdin, !isTerminal(env.Stdin)
		if answerFile != nil {
			in, echo = report.NewLines(answerFile), true
		}
		predictor = &report.Predictor{Text: text, In: in, Echo: echo, Next: opts.Pacer, Users: func(sc *scenarios.Scenario) int {
			if sc.MaxUsers > 0 && sc.MaxUsers < *users {
				return sc.MaxUsers
			}
			return *users
		}}
		opts.Pacer = predictor
	}
	if live != nil && opts.Pacer != nil {
		opts.Pacer = live.Pacer(opts.Pacer)
	}
	// A run on lab up tells lab up what it does: its live page shows it.
	var forward *scenarios.Forward
	if c, ok := rt.(*remote.Client); ok {
		forward = scenarios.NewForward(func(ctx context.Context, events []scenarios.OutputEvent) error { return c.Tell(ctx, events) })
		opts.Observers = append(opts.Observers, forward)
	}
	rn, err := scenarios.NewRunner(ctx, rt, opts)
	if err != nil {
		return StartupError{err}
	}
	defer rn.Close()
	if err := rn.Fits(scs); err != nil {
		return StartupError{err} // a scenario file naming an instance this lab lacks
	}
	j, runErr := rn.Run(ctx, scs)
	if forward != nil {
		if runErr != nil {
			forward.End("this run ended before its last scenario")
		}
		if err := forward.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "lab up's live page: the run could not be shown there: %v\n", err)
		}
	}
	if predictor != nil && j != nil {
		right, asked := predictor.Score(j)
		fmt.Fprintf(out, "\npredictions: %d of %d answers right\n", right, asked)
	}
	if err := writeReports(j, reportFiles{json: *jsonOut, markdown: *mdOut, html: *htmlOut}, env.Stdout); err != nil {
		return err
	}
	held := *hold && ctx.Err() == nil && !errors.Is(runErr, scenarios.ErrQuit)
	if live != nil {
		if held {
			live.End("the lab is held: press Enter in the terminal to stop it")
		} else {
			live.End("")
			lastLook(ctx, live)
		}
	}
	if held {
		holdLab(ctx, out, stdin, rt, kind, liveURL, env)
	}
	switch {
	case errors.Is(runErr, scenarios.ErrQuit):
		// q at a prompt, or Ctrl-C while the run waited at one.
		rt.Close()
		fmt.Fprintln(out, "\nstopped by the instructor: "+kind.ending("has been stopped"))
		return ExitCodeError{130}
	case ctx.Err() != nil:
		rt.Close()
		fmt.Fprintln(out, "\ninterrupted: "+kind.ending("has been stopped"))
		return ExitCodeError{130}
	case runErr != nil:
		return runErr
	case j.Failed > 0:
		fmt.Fprintln(out, "\nsome expectations FAIL (marked FAILS above)")
		return ExitCodeError{ExitFailed}
	case j.Inconclusive > 0:
		var again []string
		for _, s := range j.Scenarios {
			if s.Inconclusive {
				again = append(again, s.Name)
			}
		}
		fmt.Fprintf(out, "\nnothing FAILS, but %s inconclusive: this machine was too busy to judge. Close other programs (a browser tab, a video call) and run again: lab run %s\n",
			scenarioCount(j.Inconclusive), strings.Join(again, " "))
		return ExitCodeError{ExitInconclusive}
	case !j.OK:
		fmt.Fprintln(out, "\nsome expectations FAIL (marked FAILS above)")
		return ExitCodeError{ExitFailed}
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterleaved(fs *flagSet, args []string, env Env) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return nil, parseError(fs, err, env)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	return pos, parse(fs, nil, env)
}

// findScenarios returns the scenarios named: from the catalogue, or from a
// file (a name that ends in .yaml, .yml or .json, or has a slash).
func findScenarios(names []string) ([]*scenarios.Scenario, error) {
	var out []*scenarios.Scenario
	for _, n := range names {
		if spec.IsFile(n) {
			sc, err := spec.Load(n, catalog.Claim)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
			continue
		}
		scs, err := catalog.Find(n)
		if err != nil {
			return nil, err
		}
		out = append(out, scs...)
	}
	return out, nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
