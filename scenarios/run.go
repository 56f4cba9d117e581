package scenarios

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab/lb"
	"statelab/servers"
)

// Options configure a Runner. Zero fields take the defaults noted.
type Options struct {
	// Users is the number of virtual users per variant. Default 30.
	Users int
	// Seed makes the plan. Default 1.
	Seed uint64
	// Step waits for the Enter key (read from In) before each step.
	Step bool
	In   io.Reader
	// Out receives the narration and the reports. Default: discard.
	Out io.Writer
	// Color uses ANSI colours in Out.
	Color bool
	// Workers is how many users act at once. Default 32.
	Workers int
	// Live, when set, is kept up to date with the run, for the live page.
	Live *Live
}

func (o Options) withDefaults() Options {
	if o.Users <= 0 {
		o.Users = 30
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	if o.Workers <= 0 {
		o.Workers = 32
	}
	return o
}

// ErrQuit is returned when the instructor quits in step mode.
var ErrQuit = errors.New("quit at a step prompt")

// Runner runs scenarios on a Runtime.
type Runner struct {
	rt        Runtime
	opts      Options
	lb        *lb.Client
	events    *eventLog
	p         *printer
	in        *bufio.Reader
	transport *http.Transport
	plan      Plan
	fresh     bool // the lab has not run a scenario since it started
}

// NewRunner prepares to run scenarios on rt, following the balancer's events
// until ctx ends.
func NewRunner(ctx context.Context, rt Runtime, opts Options) (*Runner, error) {
	opts = opts.withDefaults()
	ep := rt.Endpoints()
	client := &lb.Client{Base: ep.Admin, Token: ep.AdminToken}
	rn := &Runner{
		rt: rt, opts: opts, lb: client,
		events: newEventLog(),
		p:      &printer{w: opts.Out, color: opts.Color},
		in:     bufio.NewReader(opts.In),
		plan:   NewPlan(opts.Seed, opts.Users),
		fresh:  true,
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     30 * time.Second,
			// The balancer answers within its own timeout (504); this one
			// only guards against a balancer that hangs itself.
			ResponseHeaderTimeout: 30 * time.Second,
		},
	}
	stream, err := client.Events(ctx, -1)
	if err != nil {
		return nil, err
	}
	go rn.events.follow(stream)
	return rn, nil
}

// Plan is the run's plan.
func (rn *Runner) Plan() Plan { return rn.plan }

// Close releases the runner's connections.
func (rn *Runner) Close() { rn.transport.CloseIdleConnections() }

// Run runs the scenarios in order and returns the journal. It stops early
// only when ctx ends or the instructor quits; a failed step fails its
// scenario, and the next one starts from a reset lab.
func (rn *Runner) Run(ctx context.Context, scs []*Scenario) (*Journal, error) {
	j := &Journal{
		Runtime: rn.rt.Describe(), Seed: rn.opts.Seed, Users: rn.opts.Users,
		Started: time.Now().UTC(), OK: true,
	}
	for i, sc := range scs {
		rep, err := rn.runOne(ctx, sc, i+1, len(scs))
		if rep != nil {
			j.Scenarios = append(j.Scenarios, rep)
			j.OK = j.OK && rep.OK
		}
		if err != nil {
			j.OK = false
			return j, err
		}
	}
	j.Seconds = time.Since(j.Started).Seconds()
	if len(scs) > 1 {
		rn.p.summary(j)
	}
	return j, nil
}

func (rn *Runner) runOne(ctx context.Context, sc *Scenario, n, total int) (*ScenarioReport, error) {
restart:
	if err := rn.reset(ctx); err != nil {
		return nil, fmt.Errorf("reset the lab before %s: %w", sc.Name, err)
	}
	r := rn.newRun(ctx, sc)
	rn.p.title(sc, n, total)
	if rn.opts.Live != nil {
		rn.opts.Live.scenario(rn.rt.Describe(), sc, r.Users)
	}
	for i, st := range sc.Steps {
		r.step = i + 1
		rn.p.step(i+1, len(sc.Steps), st)
		if rn.opts.Live != nil {
			rn.opts.Live.step(i+1, st)
		}
		if rn.opts.Step {
			switch rn.prompt(i+1, len(sc.Steps)) {
			case 'q':
				return r.finish(false), ErrQuit
			case 's':
				rn.p.note("skipped at the instructor's request")
				rep := r.finish(false)
				rep.Skipped = true
				return rep, nil
			case 'r':
				rn.p.note("starting " + sc.Name + " again from a clean lab")
				goto restart
			}
		}
		start := time.Now()
		err := st.Run(r)
		r.rep.Steps = append(r.rep.Steps, StepReport{Title: st.Title, Why: st.Why, Notes: r.notes, Seconds: time.Since(start).Seconds()})
		r.notes = nil
		if err != nil {
			if ctx.Err() != nil {
				return r.finish(false), ctx.Err()
			}
			rn.p.failed(fmt.Sprintf("step %d failed: %v", i+1, err))
			rep := r.finish(false)
			rep.Error = fmt.Sprintf("step %d (%s): %v", i+1, st.Title, err)
			return rep, nil
		}
	}
	return r.finish(true), nil
}

// prompt asks the instructor what to do before a step.
func (rn *Runner) prompt(n, total int) byte {
	for {
		rn.p.prompt(fmt.Sprintf("press Enter to run step %d/%d (r: restart this scenario, s: skip it, q: quit) ", n, total))
		line, err := rn.in.ReadString('\n')
		line = strings.TrimSpace(strings.ToLower(line))
		if err != nil && line == "" {
			return 'q' // input closed: nobody is there to press Enter
		}
		switch line {
		case "":
			return '\n'
		case "q", "quit":
			return 'q'
		case "s", "skip":
			return 's'
		case "r", "restart":
			return 'r'
		}
	}
}

// reset brings the lab and the balancer back to their clean state.
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
	st, err := rn.lb.Status(ctx)
	if err != nil {
		return err
	}
	for _, ps := range st.Pools {
		v, err := servers.ParseVariant(ps.Name)
		if err != nil {
			continue
		}
		keep := map[string]bool{}
		for _, name := range rn.rt.Instances(v) {
			keep[name] = true
		}
		for _, b := range ps.Backends {
			switch {
			case !keep[b.Name]:
				err = rn.lb.RemoveBackend(ctx, ps.Name, b.Name)
			case b.State == "draining" || b.State == "disabled":
				err = rn.lb.Backend(ctx, ps.Name, b.Name, "enable")
			}
			if err != nil {
				return err
			}
		}
		if ps.Policy != lb.RoundRobin || ps.Strict {
			if err := rn.lb.SetPolicy(ctx, ps.Name, lb.RoundRobin, false); err != nil {
				return err
			}
		}
	}
	if err := rn.waitAllUp(ctx, start); err != nil {
		return err
	}
	rn.p.dim(fmt.Sprintf("%s (%.1f s)", what, time.Since(start).Seconds()))
	return nil
}

// waitAllUp waits until the balancer has checked every backend after since
// and found it up.
func (rn *Runner) waitAllUp(ctx context.Context, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var last string
	for {
		st, err := rn.lb.Status(ctx)
		if err == nil {
			last = ""
			for _, ps := range st.Pools {
				for _, b := range ps.Backends {
					if b.State != "up" || !b.Checked.After(since) {
						last += fmt.Sprintf(" %s/%s is %s (%s)", ps.Name, b.Name, b.State, b.Why)
					}
				}
			}
			if last == "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the balancer does not see every instance up:%s", last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Run is one scenario being run: what its steps act on and record.
type Run struct {
	ctx context.Context
	rn  *Runner
	sc  *Scenario
	// RT is the runtime; LB the balancer's admin API.
	RT    Runtime
	LB    *lb.Client
	Users map[servers.Variant][]*User
	res   *Result
	rep   *ScenarioReport
	start time.Time
	step  int
	notes []string
	mu    sync.Mutex
	mark  int64 // id of the last balancer event before the scenario
}

func (rn *Runner) newRun(ctx context.Context, sc *Scenario) *Run {
	r := &Run{
		ctx: ctx, rn: rn, sc: sc, RT: rn.rt, LB: rn.lb,
		Users: map[servers.Variant][]*User{},
		res:   &Result{Detect: map[servers.Variant][]float64{}, Facts: map[string]any{}},
		start: time.Now(),
		mark:  rn.events.lastID(),
	}
	r.rep = &ScenarioReport{Name: sc.Name, Title: sc.Name + "  (" + sc.Setup + ")", Summary: sc.Summary, Claims: sc.Claims}
	ep := rn.rt.Endpoints()
	plan := rn.plan.Users
	if sc.MaxUsers > 0 && len(plan) > sc.MaxUsers {
		plan = plan[:sc.MaxUsers]
	}
	for _, v := range servers.Variants {
		for _, pu := range plan {
			r.Users[v] = append(r.Users[v], newUser(r, v, pu.Name, pu.Items, ep.Pools[v], rn.transport))
		}
	}
	return r
}

// Context is the run's context.
func (r *Run) Context() context.Context { return r.ctx }

// Note prints a line under the current step and keeps it in the journal.
func (r *Run) Note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.notes = append(r.notes, s)
	r.rn.p.note(s)
	if r.rn.opts.Live != nil {
		r.rn.opts.Live.note(s)
	}
}

// Fact records a figure for the expectations and the lesson.
func (r *Run) Fact(key string, v any) { r.res.Facts[key] = v }

// record keeps one request in the journal.
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
	if r.rn.opts.Live != nil {
		r.rn.opts.Live.answer(u.Variant, u.Name, resp, o)
	}
}

// EachUser runs f for every user of every variant, Workers at a time, the
// variants interleaved so that they progress together.
func (r *Run) EachUser(f func(u *User)) { r.EachUserOf(servers.Variants, f) }

// EachUserOf runs f for every user of the given variants.
func (r *Run) EachUserOf(variants []servers.Variant, f func(u *User)) {
	var all []*User
	n := len(r.Users[servers.Memory])
	for i := 0; i < n; i++ {
		for _, v := range variants {
			all = append(all, r.Users[v][i])
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

// SetPolicy switches every pool's policy.
func (r *Run) SetPolicy(policy string, strict bool) error {
	for _, v := range servers.Variants {
		if err := r.LB.SetPolicy(r.ctx, string(v), policy, strict); err != nil {
			return err
		}
	}
	r.Note("lb: every pool now %s%s", policy, map[bool]string{true: " (strict)", false: ""}[strict && policy == lb.Sticky])
	return nil
}

// FillAll logs every user in and adds its planned items.
func (r *Run) FillAll() error { return r.FillOf(servers.Variants...) }

// FillOf logs the users of some variants in and adds their planned items.
func (r *Run) FillOf(variants ...servers.Variant) error {
	var mu sync.Mutex
	failed := map[servers.Variant]int{}
	start := time.Now()
	r.EachUserOf(variants, func(u *User) {
		if !u.Fill(r.ctx) {
			mu.Lock()
			failed[u.Variant]++
			mu.Unlock()
		}
	})
	if err := r.ctx.Err(); err != nil {
		return err
	}
	users := len(r.Users[servers.Memory])
	var parts, names []string
	for _, v := range variants {
		names = append(names, string(v))
		if failed[v] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d of %d users had a request refused", v, failed[v], users))
		}
	}
	who := "per variant"
	if len(variants) < len(servers.Variants) {
		who = "of " + strings.Join(names, " and ")
	}
	msg := fmt.Sprintf("%d users %s logged in and filled their carts in %.2f s", users, who, time.Since(start).Seconds())
	if len(parts) > 0 {
		msg += "; " + strings.Join(parts, ", ")
	}
	r.Note("%s", msg)
	return nil
}

// Probe asks every user who it is, times times, and records a verdict: each
// user's outcome is the worst of its answers.
func (r *Run) Probe(name string, times int) (*Verdict, error) {
	return r.probeWith(name, times, (*User).Probe)
}

// ReplayProbe has every user put back the credential it held before logout
// and ask who it is: kept means the old credential still works.
func (r *Run) ReplayProbe(name string) (*Verdict, error) {
	return r.probeWith(name, 1, (*User).Replay)
}

func (r *Run) probeWith(name string, times int, ask func(*User, context.Context) (Outcome, Response)) (*Verdict, error) {
	return r.probeOf(servers.Variants, name, times, ask)
}

// probeOf probes the users of some variants only; the verdict has no users
// for the others.
func (r *Run) probeOf(variants []servers.Variant, name string, times int, ask func(*User, context.Context) (Outcome, Response)) (*Verdict, error) {
	if times < 1 {
		times = 1
	}
	v := newVerdict(name)
	var mu sync.Mutex
	repinned := map[servers.Variant]int{}
	r.EachUserOf(variants, func(u *User) {
		var worst Outcome
		var last Response
		moved := false
		for i := 0; i < times; i++ {
			o, resp := ask(u, r.ctx)
			worst, last = worse(worst, o), resp
			moved = moved || resp.Repinned != ""
			mu.Lock()
			v.observe(u.Variant, u.Name, o, resp)
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		v.Outcome[u.Variant][u.Name] = worst
		v.Instance[u.Variant][u.Name] = last.Instance
		v.Tallies[u.Variant].add(worst)
		if moved {
			repinned[u.Variant]++
		}
	})
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	for _, va := range servers.Variants {
		if repinned[va] > 0 {
			r.Note("lb: %d %s users re-pinned (now on %s)", repinned[va], va, v.Spread(va))
		}
	}
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.p.verdictLine(v)
	return v, nil
}

// ProbeDuring keeps every user probing while action runs, and records the
// worst each user saw as a verdict.
func (r *Run) ProbeDuring(name string, action func() error) (*Verdict, error) {
	v := newVerdict(name)
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	probes := map[servers.Variant]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 0; ; round++ {
			select {
			case <-stop:
				return
			default:
			}
			r.EachUser(func(u *User) {
				o, resp := u.Probe(r.ctx)
				mu.Lock()
				defer mu.Unlock()
				probes[u.Variant]++
				v.Outcome[u.Variant][u.Name] = worse(v.Outcome[u.Variant][u.Name], o)
				v.Instance[u.Variant][u.Name] = resp.Instance
				v.observe(u.Variant, u.Name, o, resp)
			})
		}
	}()
	err := action()
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	for _, va := range servers.Variants {
		for _, o := range v.Outcome[va] {
			v.Tallies[va].add(o)
		}
	}
	r.Note("%d probes per variant while it happened", probes[servers.Memory])
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.p.verdictLine(v)
	return v, nil
}

// End ends instance number n of every variant (memory-n, redis-n, jwt-n),
// with SIGKILL or, when graceful, SIGTERM, and measures how long the
// balancer takes to notice.
func (r *Run) End(n int, graceful bool) error {
	names := map[servers.Variant]string{}
	for _, v := range servers.Variants {
		names[v] = r.RT.Instances(v)[n-1]
	}
	mark := r.rn.events.lastID()
	t0 := time.Now()
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() {
			if graceful {
				errs <- r.RT.Stop(r.ctx, name)
			} else {
				errs <- r.RT.Kill(r.ctx, name)
			}
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			return err
		}
	}
	return r.awaitDown(names, mark, t0)
}

// awaitDown waits for the balancer to report each named instance down and
// notes how long it took.
func (r *Run) awaitDown(names map[servers.Variant]string, mark int64, t0 time.Time) error {
	for _, v := range servers.Variants {
		name, ok := names[v]
		if !ok {
			continue
		}
		ev, err := r.rn.events.wait(r.ctx, 5*time.Second, func(ev lb.Event) bool {
			return ev.ID > mark && ev.Type == lb.EventDown && ev.Backend == name
		})
		if err != nil {
			return fmt.Errorf("the balancer did not report %s down: %w", name, err)
		}
		d := ev.Time.Sub(t0).Seconds()
		if d < 0 {
			d = 0
		}
		r.res.Detect[v] = append(r.res.Detect[v], d)
		how := "an active health check found it gone"
		if strings.HasPrefix(ev.Reason, "passive") {
			how = "passive: a request found it gone"
		}
		r.Note("lb: %s down after %.2f s (%s)", name, d, how)
	}
	return nil
}

// Restart starts instance number n of every variant again and waits until
// the balancer has checked it up.
func (r *Run) Restart(n int, env map[string]string) error {
	since := time.Now()
	errs := make(chan error, len(servers.Variants))
	for _, v := range servers.Variants {
		name := r.RT.Instances(v)[n-1]
		go func() { errs <- r.RT.Start(r.ctx, name, env) }()
	}
	for range servers.Variants {
		if err := <-errs; err != nil {
			return err
		}
	}
	return r.rn.waitAllUp(r.ctx, since)
}

func (r *Run) finish(ok bool) *ScenarioReport {
	rep := r.rep
	rep.Seconds = time.Since(r.start).Seconds()
	rep.Events = r.rn.events.after(r.mark)
	if len(r.res.Verdicts) > 0 {
		rep.Variants = map[string]Tally{}
		final := r.res.Verdict(r.sc.Verdict)
		rep.Verdict = final.Name
		for _, v := range servers.Variants {
			t := *final.Tallies[v]
			if ds := r.res.Detect[v]; len(ds) > 0 {
				m := mean(ds)
				t.DetectSeconds = &m
			}
			rep.Variants[string(v)] = t
		}
		for _, vd := range r.res.Verdicts {
			vr := VerdictReport{Name: vd.Name, Variants: map[string]Tally{}}
			for _, v := range servers.Variants {
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
	r.rn.p.report(rep, r.sc)
	if r.rn.opts.Live != nil {
		r.rn.opts.Live.finished(rep)
	}
	return rep
}

// check evaluates the scenario's expectations, and that nobody ever saw
// another user's session.
func (r *Run) check() []ExpectationResult {
	var out []ExpectationResult
	for _, e := range r.sc.Expect {
		holds, observed := e.Check(r.res)
		out = append(out, ExpectationResult{Variant: string(e.Variant), Text: e.Text, Holds: holds, Observed: observed})
	}
	if len(r.res.Verdicts) == 0 {
		return out
	}
	wrong := 0
	for _, v := range servers.Variants {
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
