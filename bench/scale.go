package bench

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"statelab/lab/local"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
)

// ScaleRow is one run of a scenario with many users.
type ScaleRow struct {
	Scenario string
	Users    int // per variant
	Requests int
	Wall     time.Duration
	// PeakMemory is the most memory the runner's Go runtime held, sampled
	// every 50 ms (the instances and the balancer are other processes).
	PeakMemory uint64
	OK         bool
}

// Scale runs kill-instance in a local lab with the given users per variant.
func Scale(ctx context.Context, o Options, users int) (ScaleRow, error) {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	defer close(done)

	start := time.Now()
	rt, err := local.Start(ctx, local.Options{Exe: o.Exe, Users: users})
	if err != nil {
		return ScaleRow{}, err
	}
	defer rt.Close()
	rn, err := scenarios.NewRunner(ctx, rt, scenarios.Options{Users: users})
	if err != nil {
		return ScaleRow{}, err
	}
	defer rn.Close()
	scs, err := catalog.Find("kill-instance")
	if err != nil {
		return ScaleRow{}, err
	}
	j, err := rn.Run(ctx, scs)
	if err != nil {
		return ScaleRow{}, err
	}
	row := ScaleRow{Scenario: "kill-instance", Users: users, Wall: time.Since(start), OK: j.OK}
	for _, s := range j.Scenarios {
		row.Requests += len(s.Requests)
	}
	row.PeakMemory = peak.Load()
	return row, nil
}
