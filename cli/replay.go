package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"statelab/internal/term"
	"statelab/scenarios"
	"statelab/scenarios/report"
)

// runReplay tells a recorded run again: the terminal's text as it was
// printed, and with --live the live page, from a journal lab run --json
// wrote.
func runReplay(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("replay", "replay JOURNAL [--speed N] [--step] [--live ADDR] [--verbose] [--html FILE]")
	speed := fs.Float64("speed", 1, "1: at the pace it was recorded; 2: twice as fast; 0: as fast as the terminal takes it")
	step := fs.Bool("step", false, "wait for Enter before each step, as lab run --step does")
	liveAddr := fs.String("live", "", "also serve the live page at this address (e.g. 127.0.0.1:8090), until Enter after the end")
	verbose := fs.Bool("verbose", false, "print everything the run recorded: narration, claims quoted, details")
	htmlOut := fs.String("html", "", "write the run as one self-contained HTML page to this file (- for stdout) and stop;\nwith --speed, --step or --live, tell the run again too")
	files, err := parseInterleaved(fs, args, env)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return UsageError{errors.New("give one journal: lab replay run.json (lab run --json run.json writes one)")}
	}
	if *speed < 0 || *speed > 1000 {
		return UsageError{fmt.Errorf("--speed %v: want 0 (no pauses) to 1000", *speed)}
	}
	path := files[0]
	if *htmlOut != "" && *htmlOut != "-" {
		if err := checkWritable(*htmlOut); err != nil {
			return UsageError{err}
		}
	}
	j, err := readJournal(path)
	if err != nil {
		return StartupError{err} // one line: what the file is not
	}
	out := env.Stdout
	if *htmlOut == "-" {
		out = env.Stderr
	}
	if *htmlOut != "" {
		if err := writeReports(j, reportFiles{html: *htmlOut}, env.Stdout); err != nil {
			return StartupError{err}
		}
		tell := false
		fs.Visit(func(f *flag.Flag) { tell = tell || f.Name == "speed" || f.Name == "step" || f.Name == "live" })
		if !tell {
			if *htmlOut != "-" {
				fmt.Fprintf(out, "wrote %s: %s, the run of %s\n", *htmlOut, report.ScenarioCount(len(j.Scenarios)), j.Started.UTC().Format("2006-01-02 15:04 UTC"))
			}
			return nil
		}
	}
	color := isTerminal(out) && env.Getenv("NO_COLOR") == ""
	text := report.NewText(out, color, *verbose)
	text.SetWidth(textWidth(out, env))
	var obs scenarios.Observer = text
	stdin := report.NewLines(env.Stdin)
	if *liveAddr != "" {
		ln, err := net.Listen("tcp", *liveAddr)
		if err != nil {
			return StartupError{fmt.Errorf("--live: %w", err)}
		}
		live := report.NewLive()
		srv := &http.Server{Handler: live.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(out, "live: %s\n", liveURL(ln.Addr()))
		obs = scenarios.Tee(text, live)
		defer func() {
			live.End("a replay: press Enter in the terminal to end it")
			fmt.Fprintln(out, "\nthe replay is over; the live page stays until Enter (or Ctrl-C)")
			if line, err := stdin.Read(ctx); err == nil || line != "" {
				return
			}
			<-ctx.Done()
		}()
	}
	fmt.Fprintln(out, report.Wrap("replay: ", "          ", fmt.Sprintf("of a run made on %s on %s (%s), in %.1f s; %d scenarios (lab run --json wrote it)",
		j.Started.UTC().Format("2006-01-02 15:04 UTC"), term.Clean(cmp.Or(j.Host, "an unnamed machine")), term.Clean(j.Runtime), j.Seconds, len(j.Scenarios)), textWidth(out, env)))
	o := scenarios.ReplayOptions{Speed: *speed}
	if *step {
		o.Speed = 0 // each step waits for Enter: no recorded pause on top
		o.Pause = func(ctx context.Context, scenario string, n int, title string) bool {
			fmt.Fprint(out, "          Enter: step "+fmt.Sprint(n)+" of "+scenario+" ("+title+") · q: stop  ")
			line, err := stdin.Read(ctx)
			fmt.Fprintln(out)
			return err == nil && strings.TrimSpace(line) != "q"
		}
	}
	if err := scenarios.ReplayRun(ctx, j, obs, o); err != nil {
		if ctx.Err() != nil {
			return ExitCodeError{130}
		}
		return StartupError{err}
	}
	return nil
}

// readJournal reads a journal lab run --json wrote, and says in a line
// why a file is not one.
func readJournal(path string) (*scenarios.Journal, error) {
	j, err := scenarios.LoadJournal(path)
	var bad scenarios.NotAJournal
	if errors.As(err, &bad) && bad.JSON != nil {
		return nil, fmt.Errorf("%s is not a journal (lab run --json writes one): %v", path, shortJSONError(bad.JSON))
	}
	return j, err
}

// shortJSONError keeps a JSON error to its first line.
func shortJSONError(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}
