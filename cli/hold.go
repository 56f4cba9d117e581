package cli

import (
	"context"
	"fmt"
	"io"

	"statelab"
	"statelab/lab"
	"statelab/scenarios/report"
)

// holdLab keeps the lab as the last scenario left it, says how to reach
// it, and returns on Enter or when ctx ends (Ctrl-C). A closed input is not
// an Enter: then only Ctrl-C ends the hold.
func holdLab(ctx context.Context, out io.Writer, in *report.Lines, rt lab.Runtime, kind runtimeKind, liveURL string, env Env) {
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
	fmt.Fprintf(out, "  the balancer's status page and admin API: %s\n", at("admin", ep.StatusURL()))
	if liveURL != "" {
		fmt.Fprintf(out, "  the live page: %s\n", liveURL)
	}
	fmt.Fprintln(out, kind.release)
	if line, err := in.Read(ctx); err == nil || line != "" {
		return // Enter
	}
	<-ctx.Done() // the input is closed: wait for Ctrl-C
}
