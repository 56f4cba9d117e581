// Package cli is the lab command: one binary whose subcommands run a server
// instance, the load balancer, the scenarios and the tools around them. Each
// subcommand parses its own flags (every flag also from a STATELAB_ variable)
// and calls into the package that does the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"statelab"
)

// Env is what a subcommand may touch of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment (os.Getenv in the real binary).
	Getenv func(string) string
}

// OSEnv is the process's own environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the command ran and something it checks does not hold
	ExitStartup = 2 // bad usage, or the command could not start
	// ExitInconclusive: the command ran, nothing it checks failed, but the
	// machine was too busy to judge something (lab run).
	ExitInconclusive = 3
)

// UsageError is a mistake in how the command was called.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// StartupError is a failure to start (port in use, Docker not reachable...).
type StartupError struct{ Err error }

func (e StartupError) Error() string { return e.Err.Error() }
func (e StartupError) Unwrap() error { return e.Err }

// ExitCodeError carries an exit code chosen by the command itself, with a
// message already printed (or none to print).
type ExitCodeError struct{ Code int }

func (e ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

type command struct {
	summary string
	run     func(ctx context.Context, args []string, env Env) error
}

func commands() map[string]command {
	return map[string]command{
		"server":      {"run one instance of a variant (" + strings.Join(statelab.VariantNames(), ", ") + ")", runServer},
		"delay":       {"add latency to a TCP target: the stack's slow Redis (or set it: --set 100ms)", runDelay},
		"bench":       {"measure the balancer against nginx and HAProxy, the variants, failover and scale", runBench},
		"healthcheck": {"exit 0 if a URL answers 200 (for container health checks)", runHealthcheck},
		"lb":          {"run the load balancer: pools, policies, health checks, admin API", runLB},
		"list":        {"list the scenarios", runList},
		"replay":      {"tell a recorded run again, from its journal (lab run --json): the terminal's text, and the live page", runReplay},
		"run":         {"run scenarios: start a lab, break it, and report who was kept and who lost", runRun},
		"up":          {"start the whole local lab on the workshop's ports and keep it up, for a browser (Ctrl-C ends it)", runUp},
		"watch":       {"watch the balancer live in a terminal: pools, backends, states, events", runWatch},
	}
}

// Main runs the lab command with args (without the program name) and returns
// the process's exit code.
func Main(ctx context.Context, args []string, env Env) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if _, ok := cmds[args[1]]; ok {
				return Main(ctx, []string{args[1], "-h"}, env)
			}
		}
		usage(env.Stderr, cmds)
		if len(args) == 0 {
			return ExitStartup
		}
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "lab: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return ExitStartup
	}
	err := cmd.run(ctx, args[1:], env)
	return exitCode(env.Stderr, args[0], err)
}

func exitCode(stderr io.Writer, name string, err error) int {
	var (
		usageErr UsageError
		startErr StartupError
		codeErr  ExitCodeError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errHelp):
		return ExitOK
	case errors.As(err, &codeErr):
		return codeErr.Code
	case errors.As(err, &usageErr):
		fmt.Fprintf(stderr, "lab %s: %v\nRun 'lab %s -h' for usage.\n", name, err, name)
		return ExitStartup
	case errors.As(err, &startErr):
		fmt.Fprintf(stderr, "lab %s: %v\n", name, err)
		return ExitStartup
	default:
		fmt.Fprintf(stderr, "lab %s: %v\n", name, err)
		return ExitFailed
	}
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("statelab: what \"stateless\" means, shown with real processes and real failures.\n\nUsage: lab <command> [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'lab <command> -h' for a command's flags. Every flag can also be set\nfrom the environment: --redis-timeout is STATELAB_REDIS_TIMEOUT.\n")
	io.WriteString(w, b.String())
}
