package scenarios

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/lb"
)

// Run is one scenario being run: what its steps act on and record.
type Run struct {
	ctx context.Context
	rn  *Runner
	sc  *Scenario
	// RT is the runtime; LB the balancer's admin API.
	RT lab.Runtime
	LB *lb.Client
	// Users are the virtual users, per variant, in plan order.
	Users map[statelab.Variant][]*User
	res   *Result
	rep   *ScenarioReport
	start time.Time
	step  int
	notes []string
	mu    sync.Mutex // guards rep.Requests
	mark  int64      // id of the last balancer event before the scenario
}

func (rn *Runner) newRun(ctx context.Context, sc *Scenario) (*Run, error) {
	r := &Run{
		ctx: ctx, rn: rn, sc: sc, RT: rn.rt, LB: rn.lb,
		Users: map[statelab.Variant][]*User{},
		res:   newResult(),
		start: time.Now(),
		mark:  rn.events.lastID(),
	}
	r.rep = &ScenarioReport{Name: sc.Name, Title: sc.Name + "  (" + sc.Setup + ")", Summary: sc.Summary, Claims: sc.Claims}
	ep := rn.rt.Endpoints()
	plan := rn.plan.Users
	if sc.MaxUsers > 0 && len(plan) > sc.MaxUsers {
		plan = plan[:sc.MaxUsers]
	}
	for _, v := range statelab.Variants {
		for _, pu := range plan {
			u, err := NewUser(v, pu.Name, pu.Items, ep.Pools[v], rn.transport, r.record)
			if err != nil {
				return nil, err
			}
			r.Users[v] = append(r.Users[v], u)
		}
	}
	return r, nil
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

// Fact records a figure for the expectations and the lesson.
func (r *Run) Fact(key string, v any) { r.res.Facts[key] = v }

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
		Repinned:  resp.Repinned,
		Millis:    float64(resp.Took.Microseconds()) / 1000,
		CredBytes: resp.CredBytes,
	}
	if resp.Err != nil {
		rq.Error = resp.Err.Error()
	} else if resp.Body.Error != "" {
		rq.Error = resp.Body.Error // why the server refused, in its words
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

func (r *Run) finish(ok bool) *ScenarioReport {
	rep := r.rep
	rep.Seconds = time.Since(r.start).Seconds()
	rep.Events = r.rn.events.after(r.mark)
	if len(r.res.Verdicts) > 0 {
		rep.Variants = map[string]Tally{}
		final := r.res.Verdict(r.sc.Verdict)
		rep.Verdict = final.Name
		for _, v := range statelab.Variants {
			t := *final.Tallies[v]
			if ds := r.res.Detect[v]; len(ds) > 0 {
				m := mean(ds)
				t.DetectSeconds = &m
			}
			rep.Variants[string(v)] = t
		}
		for _, vd := range r.res.Verdicts {
			vr := VerdictReport{Name: vd.Name, Variants: map[string]Tally{}}
			for _, v := range statelab.Variants {
				vr.Variants[string(v)] = *vd.Tallies[v]
			}
			rep.Verdicts = append(rep.Verdicts, vr)
		}
	}
	if ok {
		rep.Expectations = r.check()
		rep.OK = true
		for _, e := range rep.Expectations {
			rep.OK = rep.OK && e.Holds
		}
		if r.sc.Lesson != nil {
			rep.Lesson = r.sc.Lesson(r.res)
		}
	}
	sort.SliceStable(rep.Requests, func(i, j int) bool { return rep.Requests[i].T < rep.Requests[j].T })
	r.rn.obs.ScenarioFinished(r.sc, rep)
	return rep
}

// check evaluates the scenario's expectations, that nobody ever saw another
// user's session, and that every probe they name was made.
func (r *Run) check() []ExpectationResult {
	var out []ExpectationResult
	for _, e := range r.sc.Expect {
		holds, observed := e.Check(r.res)
		out = append(out, ExpectationResult{Variant: string(e.Variant), Text: e.Text, Holds: holds, Observed: observed})
	}
	r.res.mu.Lock()
	unknown := r.res.unknown
	r.res.mu.Unlock()
	for _, name := range unknown {
		out = append(out, ExpectationResult{Variant: "all", Text: fmt.Sprintf("the scenario made a probe named %q", name), Holds: false, Observed: "no probe of that name: a mistake in the scenario"})
	}
	if len(r.res.Verdicts) == 0 {
		return out
	}
	wrong := 0
	for _, v := range statelab.Variants {
		for _, vd := range r.res.Verdicts {
			wrong += vd.Tallies[v].WrongUser
		}
	}
	return append(out, ExpectationResult{Variant: "all", Text: "never show a user someone else's session", Holds: wrong == 0, Observed: fmt.Sprintf("%d wrong users", wrong)})
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
