package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/lab"
)

// Options configure a Runner. Zero fields take the defaults noted.
type Options struct {
	// Users is the number of virtual users per variant. Default 30.
	Users int
	// Seed makes the plan. Default 1.
	Seed uint64
	// Workers is how many users act at once. Default 32.
	Workers int
	// Observers follow the run (the text printer, the live page).
	Observers []Observer
	// Pacer, in step mode, decides before each step whether to go on.
	Pacer Pacer
	// Used says the lab has been used before this runner (lab up's, which
	// people click around in): it is reset before the first scenario too,
	// not only between scenarios.
	Used bool
	// NoCalibration keeps the lab's own timing (lab run --calibrate=off):
	// nothing is measured before the first scenario. The machine is
	// watched while each scenario runs all the same.
	NoCalibration bool
	// Calibration, when set, is a calibration made before (lab up's, at
	// its start): the runner uses it instead of measuring again.
	Calibration *Calibration
}

func (o Options) withDefaults() Options {
	if o.Users <= 0 {
		o.Users = 30
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	return o
}

// MinInstances is how many instances of each variant the scenarios need:
// they kill, stop and restart instances 1 to 3 by number.
const MinInstances = 3

// ErrQuit is returned when the instructor stops the run in step mode.
var ErrQuit = errors.New("stopped by the instructor")

// Runner runs scenarios on a lab.Runtime.
type Runner struct {
	rt        lab.Runtime
	opts      Options
	obs       observers
	lb        *api.Client
	events    *eventLog
	transport *http.Transport
	plan      Plan
	fresh     bool // the lab has not run a scenario since it started
	cal       *Calibration
	timing    Timing
	rec       *recorder // writes the journal's output
	reader    *reader   // takes the readings of the instances
}

// NewRunner prepares to run scenarios on rt, following the balancer's events
// until ctx ends.
func NewRunner(ctx context.Context, rt lab.Runtime, opts Options) (*Runner, error) {
	opts = opts.withDefaults()
	for _, v := range statelab.Variants {
		if n := len(rt.Instances(v)); n < MinInstances {
			return nil, fmt.Errorf("the scenarios act on instances 1 to %d of each variant; this lab runs %d %s instance(s) (lab up: --instances %d)", MinInstances, n, v, MinInstances)
		}
	}
	ep := rt.Endpoints()
	client := &api.Client{Base: ep.Admin, Token: ep.AdminToken}
	rec := &recorder{}
	rn := &Runner{
		rt: rt, opts: opts, lb: client,
		obs:    append(observers{rec}, opts.Observers...),
		rec:    rec,
		events: newEventLog(),
		plan:   NewPlan(opts.Seed, opts.Users),
		fresh:  !opts.Used,
		cal:    opts.Calibration,
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			// Shorter than the balancer's idle timeout (--read-timeout,
			// 10 s): a connection the balancer is closing is never reused
			// for a login, which Go does not send again (POST) when the
			// close crosses it.
			IdleConnTimeout: 5 * time.Second,
			// The balancer answers within its own timeout (504); this one
			// only guards against a balancer that hangs itself.
			ResponseHeaderTimeout: 30 * time.Second,
		},
	}
	for _, v := range statelab.Variants {
		if _, ok := ep.Pools[v]; !ok {
			return nil, fmt.Errorf("the lab has no pool for the %s variant", v)
		}
	}
	stream, err := client.Events(ctx, -1)
	if err != nil {
		return nil, err
	}
	rn.reader = newReader(rt, client)
	go rn.events.follow(stream, func(ev api.Event) {
		if r, ok := eventReading(ev); ok {
			rn.obs.Instances(r)
		}
	})
	return rn, nil
}

// Plan is the run's plan.
func (rn *Runner) Plan() Plan { return rn.plan }

// Close releases the runner's connections.
func (rn *Runner) Close() { rn.transport.CloseIdleConnections() }

// Fits checks, before anything runs, that every scenario can run on this
// lab: that the instances each names are instances the lab runs.
func (rn *Runner) Fits(scs []*Scenario) error {
	n := len(rn.rt.Instances(statelab.Variants[0]))
	for _, sc := range scs {
		if sc.Fits != nil {
			if err := sc.Fits(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run runs the scenarios in order and returns the journal. It stops early
// only when ctx ends or the instructor quits; a failed step fails its
// scenario, and the next one starts from a reset lab.
func (rn *Runner) Run(ctx context.Context, scs []*Scenario) (*Journal, error) {
	j := &Journal{
		Runtime: rn.rt.Endpoints().About, Seed: rn.opts.Seed, Users: rn.opts.Users,
		Started: time.Now().UTC(), OK: true,
		Host: fmt.Sprintf("%s, %d cores, %s/%s", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH),
	}
	rn.rec.begin()
	defer func() { j.Output, j.OutputWhole = rn.rec.take(); j.OutputVersion = OutputVersion }()
	if err := rn.Fits(scs); err != nil {
		return j, err
	}
	rn.obs.RunStarted(j.Runtime, rn.plan, scs)
	if rn.cal == nil {
		c, err := Calibrate(ctx, rn.rt, rn.opts.NoCalibration)
		if err != nil {
			j.OK = false
			j.Seconds = time.Since(j.Started).Seconds()
			return j, err
		}
		rn.cal = &c
	}
	rn.timing = rn.cal.Timing
	j.Calibration = rn.cal
	rn.obs.Calibrated(*rn.cal)
	for i, sc := range scs {
		rep, err := rn.runOne(ctx, sc, i+1, len(scs))
		if rep != nil {
			j.Scenarios = append(j.Scenarios, rep)
			j.OK = j.OK && (rep.OK || rep.Skipped || rep.Stopped)
			if rep.Inconclusive {
				j.Inconclusive++
			} else if !rep.OK && !rep.Skipped && !rep.Stopped {
				j.Failed++
			}
			j.Summary = append(j.Summary, summarize(sc, rep)...)
		}
		if err != nil {
			if !errors.Is(err, ErrQuit) {
				j.OK = false
			}
			j.Seconds = time.Since(j.Started).Seconds()
			return j, err
		}
	}
	j.Seconds = time.Since(j.Started).Seconds()
	rn.obs.RunFinished(j)
	return j, nil
}

func (rn *Runner) runOne(ctx context.Context, sc *Scenario, n, total int) (*ScenarioReport, error) {
	for {
		rep, again, err := rn.attempt(ctx, sc, n, total)
		if !again {
			return rep, err
		}
		rn.obs.Noted("starting " + sc.Name + " again from a clean lab")
	}
}

// attempt runs the scenario once; again reports that the instructor asked
// to start it over.
func (rn *Runner) attempt(ctx context.Context, sc *Scenario, n, total int) (rep *ScenarioReport, again bool, err error) {
	if err := rn.reset(ctx); err != nil {
		return nil, false, fmt.Errorf("reset the lab before %s: %w", sc.Name, err)
	}
	r, err := rn.newRun(ctx, sc)
	if err != nil {
		return nil, false, err
	}
	users := map[statelab.Variant][]string{}
	for v, us := range r.Users {
		for _, u := range us {
			users[v] = append(users[v], u.Name)
		}
	}
	rn.obs.ScenarioStarted(sc, n, total, users)
	r.look()
	if err := lab.Lacks(rn.rt, sc.Required()...); err != nil {
		r.rep.Skipped, r.rep.SkipReason = true, err.Error()
		return r.finish(false, ""), false, nil
	}
	pause := func(p Pause) (rep *ScenarioReport, again bool, err error, stop bool) {
		if rn.opts.Pacer == nil {
			return nil, false, nil, false
		}
		switch rn.opts.Pacer.Pause(ctx, p) {
		case Quit:
			r.rep.Stopped = true
			return r.finish(false, ""), false, ErrQuit, true
		case Skip:
			r.rep.Skipped = true
			return r.finish(false, ""), false, nil, true
		case Restart:
			r.watch.Stop()
			return nil, true, nil, true
		}
		return nil, false, nil, false
	}
	for i, st := range sc.Steps {
		r.step = i + 1
		rn.obs.StepStarted(sc, i+1, st)
		if rep, again, err, stop := pause(Pause{Scenario: sc, Step: i + 1, Steps: len(sc.Steps)}); stop {
			return rep, again, err
		}
		start := time.Now()
		err := st.Run(r)
		r.rep.Steps = append(r.rep.Steps, StepReport{Title: st.Title, Why: st.Why, Notes: r.notes, Seconds: time.Since(start).Seconds()})
		r.notes = nil
		if i < len(sc.Steps)-1 {
			r.look() // the last step's reading is the scenario's last, in finish
		}
		if err != nil {
			if ctx.Err() != nil {
				return r.finish(false, interrupted), false, ctx.Err()
			}
			return r.finish(false, fmt.Sprintf("step %d (%s): %v", i+1, st.Title, err)), false, nil
		}
	}
	if rep, again, err, stop := pause(Pause{Scenario: sc, Step: len(sc.Steps), Steps: len(sc.Steps), Verdict: true}); stop {
		return rep, again, err
	}
	return r.finish(true, ""), false, nil
}

// reset brings the lab and the balancer back to their clean state: the
// runtime's instances only, all enabled, every pool round-robin, and every
// backend checked up since.
func (rn *Runner) reset(ctx context.Context) error {
	start := time.Now()
	what := "lab ready: every instance checked up by the balancer"
	if !rn.fresh {
		if err := rn.rt.Reset(ctx); err != nil {
			return err
		}
		what = "lab reset: instances restarted, Redis empty, every pool round-robin"
	}
	rn.fresh = false
	want := map[string]api.Want{}
	for _, v := range statelab.Variants {
		want[string(v)] = api.Want{Backends: rn.rt.Instances(v), Policy: api.RoundRobin}
	}
	if err := rn.lb.Restore(ctx, want); err != nil {
		return err
	}
	if err := rn.lb.WaitAllUp(ctx, start, rn.timing.wait(20*time.Second)); err != nil {
		return err
	}
	rn.obs.LabReady(fmt.Sprintf("%s (%.1f s)", what, time.Since(start).Seconds()))
	return nil
}
