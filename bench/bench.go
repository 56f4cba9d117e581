// Package bench measures statelab the way its users judge it: the balancer
// against nginx and HAProxy on the same pool, in the same run; the cost of
// each variant per request and per session; failover under load; and a
// scenario with ten thousand virtual users. `lab bench` prints the tables.
package bench

import (
	"fmt"
	"io"
	"time"
)

// Options configure a bench run. Zero fields take the defaults noted.
type Options struct {
	// Exe is the lab binary the backends and the balancer run from.
	Exe string
	// Duration each target is measured for, per round. Default 3s.
	Duration time.Duration
	// Warmup before each measurement. Default 500ms.
	Warmup time.Duration
	// Rounds of the balancer table. Default 3.
	Rounds int
	// Concurrency of the load generator. Default 32.
	Concurrency int
	// Users of the scale table. Default 10000.
	Users int
	// Progress, when set, receives a line per measurement.
	Progress io.Writer
}

// WithDefaults fills in the defaults.
func (o Options) WithDefaults() Options {
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = 500 * time.Millisecond
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Users <= 0 {
		o.Users = 10000
	}
	return o
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}
