package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"statelab"

	"statelab/bench"
)

func runBench(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("bench", "bench [--tables balancer,variants,failover,scale,hostile,flood] [flags]")
	tables := fs.String("tables", "balancer,variants,failover,scale,hostile,flood", "which tables to measure, comma-separated")
	duration := fs.Duration("duration", 3*time.Second, "balancer: how long each target is measured, per round")
	rounds := fs.Int("rounds", 3, "balancer: rounds, the targets taking turns in each")
	conc := fs.Int("concurrency", 32, "balancer and failover: concurrent connections of the load generator")
	users := fs.Int("users", 10000, "scale: virtual users per variant")
	quiet := fs.Bool("quiet", false, "print the tables only, not each measurement")
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, t := range strings.Split(*tables, ",") {
		t = strings.TrimSpace(t)
		switch t {
		case "balancer", "variants", "failover", "scale", "hostile", "flood":
			want[t] = true
		case "":
		default:
			return UsageError{fmt.Errorf("--tables: unknown table %q (want balancer, variants, failover, scale, hostile, flood)", t)}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return StartupError{err}
	}
	o := bench.Options{Exe: exe, Duration: *duration, Rounds: *rounds, Concurrency: *conc, Users: *users}.WithDefaults()
	if !*quiet {
		o.Progress = env.Stderr
	}
	out := env.Stdout
	fmt.Fprintf(out, "statelab bench: %s, %d cores, %s/%s\n", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if want["balancer"] {
		rows, notes, err := bench.Balancer(ctx, o)
		if err != nil {
			return err
		}
		printBalancer(out, o, rows, notes)
	}
	if want["variants"] {
		rows, sizes, redis, err := bench.Variants(ctx, 2000)
		if err != nil {
			return err
		}
		printVariants(out, rows, sizes, redis)
	}
	if want["failover"] {
		rows, err := bench.Failover(ctx, o)
		if err != nil {
			return err
		}
		printFailover(out, o, rows)
	}
	if want["scale"] {
		var rows []bench.ScaleRow
		for _, n := range []int{(o.Users + 2) / 3, o.Users} {
			row, err := bench.Scale(ctx, o, n)
			if err != nil {
				return err
			}
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "scale: %d users per variant: %s\n", n, row.Wall.Round(100*time.Millisecond))
			}
			rows = append(rows, row)
		}
		printScale(out, rows)
	}
	if want["hostile"] {
		rows, err := bench.Hostile(ctx, o, 5, 10*time.Second)
		if err != nil {
			return err
		}
		printHostile(out, rows)
	}
	if want["flood"] {
		rows, err := bench.Flood(ctx, o, 8, 10*time.Second)
		if err != nil {
			return err
		}
		printFlood(out, rows)
	}
	return nil
}

func printFlood(w io.Writer, rows []bench.FloodRow) {
	fmt.Fprintf(w, "\n6. login flood: one lab server --variant memory with its defaults (at most 100 logins a second per client after a burst of\n   1000; at most 50,000 sessions, the least recently used evicted), flooded with POST /login\n")
	fmt.Fprintf(w, "%-44s %9s %9s %7s %10s %9s %10s\n", "case", "logins", "429", "failed", "sessions", "evicted", "peak RSS")
	for _, r := range rows {
		fmt.Fprintf(w, "%-44s %9d %9d %7d %10d %9d %7d MB\n", r.Case, r.Logins, r.Limited, r.Failed, r.Sessions, r.Evicted, r.PeakRSS>>20)
	}
}

func printHostile(w io.Writer, rows []bench.HostileRow) {
	fmt.Fprintf(w, "\n5. hostile input: lab lb in front of three healthy jwt instances (8 healthy connections asking /healthz) and one hostile backend\n")
	fmt.Fprintf(w, "%-38s %9s %7s %12s %14s  %s\n", "case", "healthy", "failed", "marked down", "peak RSS", "answered")
	for _, r := range rows {
		healthy, failed, down := "-", "-", "-"
		if r.Healthy > 0 {
			healthy, failed, down = fmt.Sprint(r.Healthy), fmt.Sprint(r.Failed), fmt.Sprint(r.MarkedDown)
		}
		fmt.Fprintf(w, "%-38s %9s %7s %12s %8d MB (%d before)  %s\n", r.Case, healthy, failed, down, r.PeakRSS>>20, r.BaseRSS>>20, r.Answer)
	}
}

func printFailover(w io.Writer, o bench.Options, rows []bench.FailoverRow) {
	fmt.Fprintf(w, "\n3. failover: SIGKILL of instance 2 of each variant (local processes, sticky routing)\n")
	fmt.Fprintf(w, "   busy: %d users per variant asking who they are in a loop, for 2 s after the kill; idle: nobody\n", o.Concurrency)
	fmt.Fprintf(w, "%-7s %20s %20s %10s %8s %14s\n", "variant", "detected when busy", "detected when idle", "requests", "failed", "lost (401)")
	for _, r := range rows {
		fmt.Fprintf(w, "%-7s %20s %20s %10d %8d %14d\n", r.Variant, ms(r.Passive)+" ("+r.PassiveWhy+")", ms(r.Active)+" ("+r.ActiveWhy+")", r.Requests, r.Failed, r.Lost)
	}
}

func printScale(w io.Writer, rows []bench.ScaleRow) {
	fmt.Fprintf(w, "\n4. scale: kill-instance in a local lab; the runner, the balancer, %d instances and Redis share the machine\n", 3*len(statelab.Variants))
	fmt.Fprintf(w, "%-14s %16s %14s %10s %10s %20s %6s\n", "scenario", "users/variant", "users in all", "requests", "wall", "runner peak memory", "holds")
	for _, r := range rows {
		fmt.Fprintf(w, "%-14s %16d %14d %10d %10s %17d MB %6v\n", r.Scenario, r.Users, len(statelab.Variants)*r.Users, r.Requests, r.Wall.Round(100*time.Millisecond), r.PeakMemory>>20, r.OK)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func printVariants(w io.Writer, rows []bench.VariantRow, sizes []bench.SizeRow, redis string) {
	fmt.Fprintf(w, "\n2. variants: one request, served in process (no network but Redis: %s), 2000 in a row\n", redis)
	fmt.Fprintf(w, "%-7s %-11s %9s %9s %12s\n", "variant", "request", "p50", "p99", "allocs/req")
	for _, r := range rows {
		fmt.Fprintf(w, "%-7s %-11s %9s %9s %12.0f\n", r.Variant, r.Request, us(r.P50), us(r.P99), r.Allocs)
	}
	fmt.Fprintf(w, "\n   bytes per request and per session as the cart grows\n")
	fmt.Fprintf(w, "%-7s %6s %22s %22s  %s\n", "variant", "items", "credential bytes/req", "bytes held/session", "held in")
	for _, s := range sizes {
		where := s.Where
		if s.Saved < s.Items {
			where += fmt.Sprintf(" (%d of the %d items saved: the cookie holds no more)", s.Saved, s.Items)
		}
		fmt.Fprintf(w, "%-7s %6d %22d %22d  %s\n", s.Variant, s.Items, s.Credential, s.Held, where)
	}
}

func printBalancer(w io.Writer, o bench.Options, rows []bench.BalancerRow, notes []string) {
	loader := "lab's Go load generator"
	if bench.Loader() == "wrk" {
		loader = "wrk -t1"
	}
	fmt.Fprintf(w, "\n1. balancer: GET /healthz of three jwt instances; %s, %d connections, %s per target per round, %d rounds\n", loader, o.Concurrency, o.Duration, o.Rounds)
	fmt.Fprintf(w, "   (medians); ×1: one worker or thread, ×%d: one per core; lab lb ÷: lab lb's req/s over the row's;\n   alone: one connection, %s per round\n", runtime.NumCPU(), o.Duration/3)
	var direct, lab bench.BalancerRow
	for _, r := range rows {
		switch r.Target {
		case "direct":
			direct = r
		case "lab lb":
			lab = r
		}
	}
	fmt.Fprintf(w, "%-11s %8s %9s %9s %9s %9s %9s %9s %11s %7s\n", "target", "req/s", "p50", "p99", "vs direct", "lab lb ÷", "CPU/req", "alone p50", "alone added", "errors")
	var verdict []string
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(w, "%-11s skipped: %s\n", r.Target, r.Skipped)
			continue
		}
		ratio, cpu := "-", "-"
		if r.Target != "direct" && r.Target != "lab lb" && r.RPS > 0 {
			ratio = fmt.Sprintf("%.2f", lab.RPS/r.RPS)
			verdict = append(verdict, fmt.Sprintf("%s× %s", ratio, r.Target))
		}
		if r.CPU > 0 {
			cpu = us(r.CPU)
		}
		vsDirect := "-"
		if direct.RPS > 0 {
			vsDirect = fmt.Sprintf("%.2f", r.RPS/direct.RPS)
		}
		fmt.Fprintf(w, "%-11s %8.0f %9s %9s %9s %9s %9s %9s %11s %7d\n", r.Target, r.RPS, us(r.P50), us(r.P99), vsDirect, ratio, cpu, us(r.Alone), us(r.Alone-direct.Alone), r.Errors)
	}
	if len(verdict) > 0 && lab.RPS > 0 {
		fmt.Fprintf(w, "   lab lb's requests per second, in this run: %s\n", strings.Join(verdict, ", "))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
