package cli

import (
	"context"
	"fmt"
	"io"
	"statelab"
	"statelab/lab"
	"statelab/scenarios/report"
)

// ending says what becomes of the lab when a run ends early: lab up's
// keeps running as the scenario left it, the compose stack is reset and
// keeps running (lab/compose's Close), a local lab's processes end.
func ending(kind, what string) string {
	switch kind {
	case "up":
		return "the lab up keeps running, as the scenario left it"
	case "docker":
		return "the stack is reset (every fault undone) and keeps running"
	}
	return "every process of the lab " + what
}

// holdLab keeps the lab as the last scenario left it, says how to reach
// it, and returns on Enter or when ctx ends (Ctrl-C). A closed input is not
// an Enter: then only Ctrl-C ends the hold.
func holdLab(ctx context.Context, out io.Writer, in *report.Lines, rt lab.Runtime, kind, liveURL string, env Env) {
	ep := rt.Endpoints()
	fmt.Fprintln(out, "\nheld: the lab keeps running as the last scenario left it, for the room to explore.")
	// Where a browser opens each: on the host, for the compose stack.
	at := func(name, url string) string {
		if p := published(env, name); p != "" {
			return p
		}
		return url
	}
	for _, v := range statelab.Variants {
		fmt.Fprintf(out, "  %-7s %s\n", v, at(string(v), ep.Pools[v]))
	}
	fmt.Fprintf(out, "  the balancer's status page and admin API: %s\n", at("admin", ep.Admin))
	if liveURL != "" {
		fmt.Fprintf(out, "  the live page: %s\n", liveURL)
	}
	if kind == "docker" {
		fmt.Fprintln(out, "press Enter (or Ctrl-C) to end the hold; the stack is then reset and keeps running")
	} else {
		fmt.Fprintln(out, "press Enter (or Ctrl-C) to stop it; nothing is left behind")
	}
	if line, err := in.Read(ctx); err == nil || line != "" {
		return // Enter
	}
	<-ctx.Done() // the input is closed: wait for Ctrl-C
}
