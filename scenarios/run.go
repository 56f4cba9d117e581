package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab/lb/api"

	"statelab"
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
	mu    sync.Mutex // guards rep.Requests
	mark  int64      // id of the last balancer event before the scenario
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
	r.rep = &ScenarioReport{Name: sc.Name, Title: sc.Name + "  (" + sc.Setup + ")", Summary: sc.Summary, Claims: sc.Claims}
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

// finish ends the scenario: with every step run (complete), its
// expectations are checked and its lesson written; else why says why not.
func (r *Run) finish(complete bool, why string) *ScenarioReport {
	for _, us := range r.Users {
		for _, u := range us {
			u.CloseLive()
		}
	}
	rep := r.rep
	if !complete {
		rep.Error = why
	}
	rep.Machine = r.watch.Stop()
	for _, d := range watched(rep.Machine, r.watch.Over, r.rn.timing, r.world.redisUsers()) {
		r.busy.add(d)
	}
	rep.Seconds = time.Since(r.start).Seconds()
	rep.Events = r.rn.events.after(r.mark)
	r.unexplainedDowns(rep.Events)
	sort.SliceStable(rep.Requests, func(i, j int) bool { return rep.Requests[i].T < rep.Requests[j].T })
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
			t.Recover, t.RecoverSeconds = r.recovery(v)
			rep.Variants[string(v)] = t
		}
		for _, vd := range r.res.Verdicts {
			vr := VerdictReport{Name: vd.Name, Kind: vd.Kind, Variants: map[string]Tally{},
				Requests: map[string]int{}, Bad: map[string]int{}, Repinned: map[string]int{}}
			for _, v := range statelab.Variants {
				vr.Variants[string(v)] = *vd.Tallies[v]
				vr.Requests[string(v)], vr.Bad[string(v)] = vd.Requests(v)
				if n := vd.Repinned[v]; n > 0 {
					vr.Repinned[string(v)] = n
				}
			}
			rep.Verdicts = append(rep.Verdicts, vr)
		}
	}
	// Timeouts no fault explains are the machine's doing only where the
	// machine was seen to be slow; on one that never was, they are the
	// lab's own failure.
	rep.Disturbances = r.busy.list(slowed(rep.Machine, r.rn.timing))
	if complete {
		rep.Expectations = r.check()
		failed, excused := 0, 0
		for i, e := range rep.Expectations {
			switch {
			case e.Holds:
			case e.Text != WrongUserCheck && touches(rep.Disturbances, e.Variant):
				// No machine, however slow, shows a user someone else's
				// session: that failure is never excused.
				rep.Expectations[i].Inconclusive = true
				excused++
			default:
				failed++
			}
		}
		rep.OK = failed+excused == 0
		rep.Inconclusive = failed == 0 && excused > 0
		if r.sc.Lesson != nil && !rep.Inconclusive {
			rep.Lesson = r.sc.Lesson(r.res) // a disturbed run's numbers teach nothing
		}
	} else if why != "" && why != interrupted && len(rep.Disturbances) > 0 {
		rep.Inconclusive = true
	}
	if rep.Inconclusive {
		rep.Busy = busyWords(rep.Disturbances)
	}
	rep.Facts = r.res.Facts
	r.rn.obs.ScenarioFinished(r.sc, rep)
	return rep
}

// interrupted is why a scenario ended when its run was interrupted.
const interrupted = "interrupted"

// unexplainedDowns counts, as disturbances, the backends the balancer
// marked down because they answered too late while nothing the scenario
// did had ended them: a busy machine's doing.
func (r *Run) unexplainedDowns(events []api.Event) {
	r.world.mu.Lock()
	defer r.world.mu.Unlock()
	for _, ev := range events {
		if ev.Type != api.EventDown {
			continue
		}
		if _, ended := r.world.ended[ev.Backend]; ended {
			continue
		}
		why := strings.ToLower(ev.Reason)
		if strings.Contains(why, "timeout") || strings.Contains(why, "deadline") || strings.Contains(why, "timed out") {
			r.busy.add(Disturbance{Variant: ev.Pool, What: fmt.Sprintf("the balancer marked %s down (%s) though nothing had ended it", ev.Backend, ev.Reason)})
		}
	}
}

// Recovery words.
const (
	NoneFailed    = "none failed"       // no request failed after the fault
	LogInAgain    = "log in again"      // a session was destroyed and its user not served again: it must log in again
	StillBad      = "still "            // + an outcome word: some user was not served at the end, nothing destroyed
	OnceFixed     = "once fixed, "      // + a time: some user was served again only after a step undid the fault
	LoggedInAgain = "logged in again, " // + a time: some user was served again only after logging in again
	afterFault    = " after the fault"
)

// recovery is how long the users of variant v took to be served again
// after a fault: for each run of failures of a user after a fault (a probe
// not kept, a request answered 5xx or not at all), the time from the last
// fault before it (the end of one of v's instances, or anything Run.Fault
// marks) until the user was served again (a probe kept, a request
// answered 200); the longest of them. NoneFailed when none failed;
// LogInAgain when a session was destroyed and its user was not served
// again; "still refused" (or another outcome) when some user was not
// served at the end though nothing was destroyed; "once fixed, 0.67 s
// after the fault" when a user was served again only after a step undid
// the fault (Run.Fixed; starting again an instance the scenario ended
// does); "logged in again, 1.2 s after the fault" when a user whose
// session was destroyed was served again after a new login; "" when the
// scenario has no fault, or no probe after it.
func (r *Run) recovery(v statelab.Variant) (string, *float64) {
	first := r.world.firstFault(v)
	if first.IsZero() {
		return "", nil
	}
	from := first.Sub(r.start).Seconds()
	fixed := -1.0
	if t := r.world.fixedAt(); !t.IsZero() {
		fixed = t.Sub(r.start).Seconds()
	}
	at := func(t float64) time.Time { return r.start.Add(time.Duration(t * float64(time.Second))) }
	type course struct {
		since, lastBad float64 // the current run of failures: its first and last; -1: none
		last           Outcome // the outcome of its last probe
		lost           bool    // a probe of this run found the session gone
		probed         bool
	}
	longest, byFix, byLogin := -1.0, false, false
	users := map[string]*course{}
	for _, rq := range r.rep.Requests {
		if rq.Variant != string(v) || rq.T < from {
			continue
		}
		probe := rq.Path == "/me" && rq.Outcome != ""
		var good, bad bool
		switch {
		case probe:
			good, bad = Outcome(rq.Outcome) == Kept, Outcome(rq.Outcome) != Kept
		case rq.Outcome == "":
			good, bad = rq.Status == http.StatusOK, rq.Status == 0 || rq.Status >= 500
		}
		c := users[rq.User]
		if c == nil {
			c = &course{since: -1, lastBad: -1}
			users[rq.User] = c
		}
		if probe {
			c.probed, c.last = true, Outcome(rq.Outcome)
		}
		switch {
		case bad:
			if c.since < 0 {
				c.since = rq.T
			}
			c.lastBad = rq.T
			c.lost = c.lost || (probe && c.last == Lost)
		case good && c.since >= 0:
			f := r.world.faultBefore(v, at(c.since)).Sub(r.start).Seconds()
			longest = max(longest, rq.T-f)
			byFix = byFix || (fixed >= 0 && c.lastBad < fixed && rq.T >= fixed)
			byLogin = byLogin || c.lost
			c.since, c.lastBad, c.lost = -1, -1, false
		}
	}
	probed := false
	var still Outcome
	for _, c := range users {
		probed = probed || c.probed
		if c.since < 0 {
			continue
		}
		o := c.last
		if o == "" || o == Kept {
			o = Unavailable // its last request failed, and no probe came after
		}
		still = worse(Session, still, o)
	}
	if !probed {
		return "", nil
	}
	switch {
	case still == Lost:
		return LogInAgain, nil
	case still != "":
		return StillBad + still.Word(), nil
	case longest < 0:
		zero := 0.0
		return NoneFailed, &zero
	case byLogin:
		return LoggedInAgain + Seconds(longest) + afterFault, &longest
	case byFix:
		return OnceFixed + Seconds(longest) + afterFault, &longest
	}
	return Seconds(longest), &longest
}

// The expectation every scenario has.
const (
	EveryVariant   = "every variant"
	WrongUserCheck = "shows no user someone else's session"
)

// check evaluates the scenario's expectations, that nobody ever saw another
// user's session, and that every probe they name was made.
func (r *Run) check() []ExpectationResult {
	var out []ExpectationResult
	for _, e := range r.sc.Expectations() {
		holds, observed := e.Check(r.res)
		out = append(out, ExpectationResult{Variant: string(e.Variant), Text: e.Text, Holds: holds, Observed: observed, Counts: e.Counts})
	}
	r.res.mu.Lock()
	unknown := r.res.unknown
	r.res.mu.Unlock()
	for _, name := range unknown {
		out = append(out, ExpectationResult{Variant: EveryVariant, Text: fmt.Sprintf("was probed at %q", name), Holds: false, Observed: "no probe of that name: a mistake in the scenario"})
	}
	if len(r.res.Verdicts) == 0 {
		return out
	}
	wrong := 0
	for _, v := range statelab.Variants {
		for _, vd := range r.res.Verdicts {
			wrong += vd.Tallies[v].Of(WrongUser)
		}
	}
	return append(out, ExpectationResult{Variant: EveryVariant, Text: WrongUserCheck, Holds: wrong == 0, Observed: fmt.Sprintf("%d wrong users", wrong)})
}

// Seconds says a short time as people read it: "4.2 ms", "170 ms", "1.2 s".
func Seconds(s float64) string {
	switch {
	case s < 0.0095:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.1f s", s)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
