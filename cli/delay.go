package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"statelab/internal/delay"
)

// runDelay runs a delay proxy (the workshop stack's redis-delay), or, with
// --set, sets the delay of one that runs.
func runDelay(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("delay", "delay --to redis:6379 [--listen 127.0.0.1:6380] [--control 127.0.0.1:6390]  |  delay --set 100ms [--at URL]")
	listen := fs.String("listen", "127.0.0.1:6380", "where clients connect (the stack gives :6380, on its own network)")
	to := fs.String("to", "", "the target, host:port (required to run a proxy)")
	control := fs.String("control", "127.0.0.1:6390", "address of the control API (GET, PUT /delay; no authentication, so loopback unless on a private network)")
	initial := fs.Duration("delay", 0, "the delay to start with")
	set := fs.String("set", "", "set the delay of a running proxy to this (e.g. 100ms, 0) and exit")
	at := fs.String("at", "http://127.0.0.1:6390", "with --set: the running proxy's control API")
	logger := logFlags(fs, env)
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *set != "" {
		d, err := time.ParseDuration(*set)
		if err != nil || d < 0 || d > delay.MaxDelay {
			return UsageError{fmt.Errorf("--set %q: want a duration from 0 to %s, like 100ms", *set, delay.MaxDelay)}
		}
		client := &http.Client{Timeout: 5 * time.Second}
		if err := delay.Set(client, *at, d); err != nil {
			return err
		}
		st, err := delay.Get(client, *at)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "delay to %s: %s\n", st.Target, st.Delay)
		return nil
	}
	if *to == "" {
		return UsageError{errors.New("--to is required: the host:port to forward to (or --set to change a running proxy)")}
	}
	if *initial < 0 || *initial > delay.MaxDelay {
		return UsageError{fmt.Errorf("--delay %s: want 0 to %s", *initial, delay.MaxDelay)}
	}
	log, err := logger()
	if err != nil {
		return err
	}
	p, err := delay.Listen(*listen, *to)
	if err != nil {
		return StartupError{err}
	}
	defer p.Close()
	_ = p.SetDelay(*initial)
	ln, err := net.Listen("tcp", *control)
	if err != nil {
		return StartupError{fmt.Errorf("control API: %w", err)}
	}
	srv := &http.Server{Handler: p.Control(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	log.Info("delay proxy", "listen", p.Addr(), "to", *to, "control", ln.Addr().String(), "delay", p.Delay().String())
	return serveUntilDone(ctx, func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, srv.Shutdown, log.Info)
}
