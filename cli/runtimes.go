package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"statelab/lab"
	"statelab/lab/compose"
	"statelab/lab/local"
	"statelab/scenarios"
)

// runtimeKind is a place a lab can run, as lab run --runtime names it:
// how to start it, and what becomes of it when a run ends. A new runtime
// is a package under lab/ and an entry here.
type runtimeKind struct {
	name, help string
	// start starts the lab, or joins it.
	start func(ctx context.Context, o runtimeOptions) (lab.Runtime, error)
	// instances per variant, when known before the lab starts (scenario
	// files are checked against it); 0 when only the lab can say.
	instances int
	// ending says what becomes of the lab when a run ends early ("what"
	// happened to it, for a lab that ends).
	ending func(what string) string
	// release says how a held lab is let go.
	release string
	// resets, for a lab people may be using in a browser, warns that each
	// scenario resets it.
	resets string
}

// resetWarning is what a run on a shared lab says before its first
// scenario.
const resetWarning = "each scenario first resets the lab (Redis emptied, memory instances restarted): a browser logged in on its pages is logged out, and its page says when the lab was reset"

// runtimeOptions are lab run's flags a runtime may use.
type runtimeOptions struct {
	redis      string
	logs       io.Writer
	users      int
	calibrate  bool
	adminToken string
}

var runtimeKinds = []runtimeKind{
	{
		name: "local", help: "processes of this binary",
		start: func(ctx context.Context, o runtimeOptions) (lab.Runtime, error) {
			lo := local.Options{Redis: o.redis, Logs: o.logs, Users: o.users}
			if o.calibrate {
				// What calibration chooses on all but a crowded machine: the
				// instances start with it, and are not restarted to get it.
				lo.RedisTimeout = scenarios.StoreTimeoutFloor
			}
			return local.Start(ctx, lo)
		},
		instances: scenarios.MinInstances,
		ending:    func(what string) string { return "every process of the lab " + what },
		release:   "press Enter (or Ctrl-C) to stop it; nothing is left behind",
	},
	{
		name: "docker", help: "the compose stack's containers; from inside it: docker compose run --rm lab run NAME",
		start: func(ctx context.Context, o runtimeOptions) (lab.Runtime, error) {
			return compose.Start(ctx, compose.Options{AdminToken: o.adminToken})
		},
		ending:  func(string) string { return "the stack is reset (every fault undone) and keeps running" },
		release: "press Enter (or Ctrl-C) to end the hold; the stack is then reset and keeps running",
		resets:  resetWarning,
	},
}

// upKind is the lab that lab up keeps running, which lab run --up joins.
var upKind = runtimeKind{
	name:    "up",
	ending:  func(string) string { return "the lab up keeps running, as the scenario left it" },
	release: "press Enter (or Ctrl-C) to end the hold; the lab up keeps running",
	resets:  resetWarning,
}

// findRuntime returns the runtime --runtime names.
func findRuntime(name string) (runtimeKind, error) {
	for _, k := range runtimeKinds {
		if k.name == name {
			return k, nil
		}
	}
	names := make([]string, len(runtimeKinds))
	for i, k := range runtimeKinds {
		names[i] = k.name
	}
	return runtimeKind{}, fmt.Errorf("--runtime %q: want %s", name, strings.Join(names, " or "))
}

// runtimeHelp names the runtimes, with what each is: "local (processes of
// this binary) or docker (...)".
func runtimeHelp(sep string) string {
	parts := make([]string, len(runtimeKinds))
	for i, k := range runtimeKinds {
		parts[i] = k.name + " (" + k.help + ")"
	}
	return strings.Join(parts, sep)
}
