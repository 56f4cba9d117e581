package scenarios

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/delay"
	"statelab/internal/machine"
	"statelab/lab"
)

// Run is one scenario being run: what its steps act on and record.
type Run struct {
	ctx context.Context
	rn  *Runner
	sc  *Scenario
	// RT is the runtime; LB the balancer's admin API.
	RT lab.Runtime
	LB *api.Client
	// Users are the virtual users, per variant, in plan order.
	Users map[statelab.Variant][]*User
	res   *Result
	rep   *ScenarioReport
	world *world
	busy  *disturbances
	watch *machine.Watch
	start time.Time
	step  int
	notes []string
	mu    sync.Mutex     // guards rep.Requests
	mark  int64          // id of the last balancer event before the scenario
	net   []*delay.Proxy // the users' network, when the scenario breaks it (Through)
	// replication is the replicated Redis the scenario started (Replicate).
	replication lab.Replication
}

func (rn *Runner) newRun(ctx context.Context, sc *Scenario) (*Run, error) {
	r := &Run{
		ctx: ctx, rn: rn, sc: sc, LB: rn.lb,
		Users: map[statelab.Variant][]*User{},
		res:   newResult(),
		world: newWorld(rn.timing.StoreTimeout),
		busy:  newDisturbances(),
		start: time.Now(),
		mark:  rn.events.lastID(),
	}
	r.RT = tracked{Runtime: rn.rt, w: r.world}
	r.world.tell = func(in InstanceState) {
		rn.obs.Instances(Reading{At: time.Now().UTC(), Instances: []InstanceState{in}})
	}
	r.rep = &ScenarioReport{Started: r.start.UTC(), Name: sc.Name, Title: sc.Name + "  (" + sc.Setup + ")", Summary: sc.Summary, Claims: sc.Claims}
	ep := rn.rt.Endpoints()
	plan := rn.plan.Users
	if sc.MaxUsers > 0 && len(plan) > sc.MaxUsers {
		plan = plan[:sc.MaxUsers]
	}
	for _, v := range statelab.Variants {
		for _, pu := range plan {
			u, err := NewUser(v, pu.Name, pu.Items, ep.Pools[v], rn.transport, r.record, r.world)
			if err != nil {
				return nil, err
			}
			r.Users[v] = append(r.Users[v], u)
		}
	}
	r.watch = machine.Start(ctx, rn.rt.Endpoints().Redis, watchEvery) // finish stops it
	return r, nil
}

// look tells the observers a whole reading of the instances, as the
// scenario has left them now (also when the run was interrupted).
func (r *Run) look() {
	r.rn.obs.Instances(r.rn.reader.read(context.WithoutCancel(r.ctx), r.world.downWhy))
}

// Timing is the run's timing: what the lab allows for on this machine.
func (r *Run) Timing() Timing { return r.rn.timing }

// Disturbed records that the machine, not the scenario, disturbed what
// the scenario measures (v "" for every variant): a prediction about it
// that fails is inconclusive, not FAILS.
func (r *Run) Disturbed(v statelab.Variant, format string, args ...any) {
	r.busy.add(Disturbance{Variant: string(v), What: fmt.Sprintf(format, args...)})
}

// Requests are the requests the users of variant v have made in the
// scenario so far, in the order they ended.
func (r *Run) Requests(v statelab.Variant) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, rq := range r.rep.Requests {
		if rq.Variant == string(v) {
			out = append(out, rq)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// At is the moment a request's T (seconds since the scenario started)
// names.
func (r *Run) At(t float64) time.Time {
	return r.start.Add(time.Duration(t * float64(time.Second)))
}

// Context is the run's context: it ends when the run is interrupted.
func (r *Run) Context() context.Context { return r.ctx }

// Result is what the run has recorded so far.
func (r *Run) Result() *Result { return r.res }

// Note prints a line under the current step and keeps it in the journal.
func (r *Run) Note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, s)
	r.rn.obs.Noted(s)
}

// Aside prints a line under the current step, and keeps it in the
// journal, when the scenario is told whole (run alone, or --verbose): a
// figure the scenario's verdict table or lesson also gives, left out of a
// concise run of several.
func (r *Run) Aside(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, s)
	r.rn.obs.Asided(s)
}

// Detail records a line of detail: kept in the journal, printed only with
// --verbose (a confirmation the step's title already implies).
func (r *Run) Detail(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, s)
	r.rn.obs.Detailed(s)
}

// Fact records a figure for the expectations and the lesson.
func (r *Run) Fact(key string, v any) { r.res.Facts[key] = v }

// Fault marks now as the moment the scenario breaks something: the time
// to recover is counted from its first fault. Killing an instance, ending
// one with End, and stopping Redis mark a fault by themselves.
func (r *Run) Fault() { r.world.fault() }

// Fixed marks now as the moment a step undid the scenario's fault (the
// drift corrected, the key restored): users served again after it were
// not served by themselves, and the time to recover says so.
func (r *Run) Fixed() { r.world.fix() }

// AddTable adds a table of figures to the scenario's report.
func (r *Run) AddTable(t Table) { r.rep.Tables = append(r.rep.Tables, t) }

// record keeps one request in the journal and tells the observers.
func (r *Run) record(u *User, method, path string, resp Response, o Outcome) {
	rq := Request{
		T:         time.Since(r.start).Seconds(),
		Step:      r.step,
		Variant:   string(u.Variant),
		User:      u.Name,
		Method:    method,
		Path:      path,
		Status:    resp.Status,
		Instance:  resp.Instance,
		Outcome:   string(o),
		Gone:      resp.Gone,
		Repinned:  resp.Repinned,
		Millis:    float64(resp.Took.Microseconds()) / 1000,
		CredBytes: resp.CredBytes,
	}
	if resp.Err != nil {
		rq.Error = resp.Err.Error()
	} else if resp.Body.Error != "" {
		rq.Error = resp.Body.Error // why the server refused, in its words
	}
	switch {
	case o != "":
		rq.Cause = resp.Cause
	case !resp.OK() && resp.CookieTooLarge == 0:
		rq.Cause = AnswerCause(resp)
	}
	if resp.Err != nil || resp.Status >= 500 {
		rq.Fault = r.world.Injected(u.Variant, resp)
		if rq.Fault == "" && TimedOut(resp) {
			rq.TimedOut = true
			r.busy.timeout(u.Variant, path, AnswerCause(resp))
		}
	}
	r.mu.Lock()
	r.rep.Requests = append(r.rep.Requests, rq)
	r.mu.Unlock()
	r.rn.obs.Answered(u.Variant, u.Name, rq, o)
}

// EachUser runs f for every user of every variant, Workers at a time, the
// variants interleaved so that they progress together.
func (r *Run) EachUser(f func(u *User)) { r.EachUserOf(statelab.Variants, f) }

// EachUserOf runs f for every user of the given variants.
func (r *Run) EachUserOf(variants []statelab.Variant, f func(u *User)) {
	r.eachOf(r.usersOf(variants), f)
}

// Each runs f for each of the users, Workers at a time.
func (r *Run) Each(users []*User, f func(u *User)) { r.eachOf(users, f) }

// usersOf lists the users of the variants, interleaved.
func (r *Run) usersOf(variants []statelab.Variant) []*User {
	var all []*User
	n := 0
	for _, v := range variants {
		n = max(n, len(r.Users[v]))
	}
	for i := 0; i < n; i++ {
		for _, v := range variants {
			if i < len(r.Users[v]) {
				all = append(all, r.Users[v][i])
			}
		}
	}
	return all
}

// eachOf runs f for each of the users, Workers at a time.
func (r *Run) eachOf(all []*User, f func(u *User)) {
	work := make(chan *User)
	var wg sync.WaitGroup
	for w := 0; w < r.rn.opts.Workers && w < len(all); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				f(u)
			}
		}()
	}
	for _, u := range all {
		if r.ctx.Err() != nil {
			break
		}
		work <- u
	}
	close(work)
	wg.Wait()
}

// Seconds says a short time as people read it: "4.2 ms", "170 ms", "1.2 s".
func Seconds(s float64) string {
	switch {
	case s < 0.0095:
		return Millis(s * 1000)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.1f s", s)
}
