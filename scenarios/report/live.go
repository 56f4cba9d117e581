package report

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"statelab/internal/pages"

	"statelab"
	"statelab/scenarios"
)

// Live is what a run looks like right now, for the live page: the scenario
// and step under way (and, in step mode, the step just finished while the
// next one waits), each user under the instance that holds its session,
// the instances as the balancer sees them, the last probe's counts (the
// verdict's, to the user), and, once a scenario ends, its verdict,
// expectations and lesson. It is an observer of the run; Handler serves
// the page; Pacer wraps a step-mode pacer so that the page knows when the
// run waits for Enter. Everything on it comes from the run's events (the
// instances from its readings): the page has no path of its own into the
// lab, and a replay draws it as the run did.
type Live struct {
	scenarios.Base
	mu      sync.Mutex
	state   LiveState
	index   map[statelab.Variant]map[string]int
	version int64 // bumped on every change
	served  bool  // a page has fetched the state
	seen    int64 // the latest version a page says it has drawn
	// read is when the last whole reading was taken: the verdict's AsOf.
	read time.Time
}

var _ scenarios.Observer = (*Live)(nil)

// maxLiveInstances bounds the instances shown per variant, maxLiveUsers
// the users (the counts are the verdict's, of every user).
const (
	maxLiveInstances = 16
	maxLiveUsers     = 400
)

// NewLive returns an empty live state.
func NewLive() *Live {
	order := make([]string, len(statelab.Variants))
	variants := map[string]LiveVariant{}
	for i, v := range statelab.Variants {
		order[i] = string(v)
		variants[string(v)] = liveVariant(v.Describe())
	}
	return &Live{state: LiveState{Order: order, Variants: variants, Users: map[string][]LiveUser{}, Instances: map[string][]LiveInstance{}}}
}

// update changes the state under the lock and bumps its version.
func (l *Live) update(f func(st *LiveState)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.state)
	l.version++
}

// RunStarted records what the lab runs on.
func (l *Live) RunStarted(runtime string, _ scenarios.Plan, _ []*scenarios.Scenario) {
	l.update(func(st *LiveState) { st.Runtime, st.Over, st.Held = runtime, false, "" })
}

// ResetElsewhere says that another run (who) reset the lab at t: what the
// page showed of its last scenario no longer describes the lab. The
// verdict and the users are cleared; the instances, read from the lab,
// stay.
func (l *Live) ResetElsewhere(who string, t time.Time) {
	l.update(func(st *LiveState) {
		st.Elsewhere = fmt.Sprintf("%s reset this lab at %s (instances restarted, Redis emptied, every pool round-robin) and runs on it from another terminal: its scenarios follow on this page", who, t.Format("15:04:05"))
		st.Scenario, st.Setup, st.Finished, st.Over, st.Held = "", "", nil, false, ""
		st.Steps, st.Step, st.Title, st.Why, st.Notes, st.Prev = 0, 0, "", "", nil, nil
		st.Waiting, st.Verdict, st.Probe = false, false, nil
		st.Users, st.UsersTotal = map[string][]LiveUser{}, map[string]int{}
		l.index = map[statelab.Variant]map[string]int{}
		for v := range st.Instances {
			for j := range st.Instances[v] {
				st.Instances[v][j].Answers = 0 // counted in a scenario no longer shown
			}
		}
	})
}

// ScenarioStarted shows a new scenario, every user new.
func (l *Live) ScenarioStarted(sc *scenarios.Scenario, n, total int, users map[statelab.Variant][]string) {
	l.update(func(st *LiveState) {
		st.Elsewhere = "" // this run is the page's again
		st.Scenario, st.Setup, st.N, st.Total = sc.Name, sc.Setup, n, total
		st.Finished = nil // the same scenario again: its last verdict is not this run's
		st.Steps, st.Step, st.Title, st.Why, st.Notes, st.Prev = len(sc.Steps), 0, "", "", nil, nil
		st.Waiting, st.Verdict, st.Probe = false, false, nil
		for i := range st.Instances {
			for j := range st.Instances[i] {
				st.Instances[i][j].Answers = 0
			}
		}
		l.index = map[statelab.Variant]map[string]int{}
		st.Users, st.UsersTotal = map[string][]LiveUser{}, map[string]int{}
		for v, us := range users {
			st.UsersTotal[string(v)] = len(us)
			us = us[:min(len(us), maxLiveUsers)]
			list := make([]LiveUser, len(us))
			idx := map[string]int{}
			for i, name := range us {
				list[i] = LiveUser{Name: name, State: "new"}
				idx[name] = i
			}
			st.Users[string(v)] = list
			l.index[v] = idx
		}
	})
}

// StepStarted shows the step under way; the one before moves to Prev, with
// its notes.
func (l *Live) StepStarted(_ *scenarios.Scenario, n int, s scenarios.Step) {
	l.update(func(st *LiveState) {
		if st.Step > 0 {
			st.Prev = &LiveStep{N: st.Step, Title: st.Title, Notes: st.Notes}
		}
		st.Step, st.Title, st.Why, st.Notes = n, s.Title, s.Why, nil
		for v := range st.Instances {
			for j := range st.Instances[v] {
				st.Instances[v][j].Answers = 0
			}
		}
	})
}

// Noted adds a note under the step.
func (l *Live) Noted(s string) {
	l.update(func(st *LiveState) {
		if len(st.Notes) < 50 {
			st.Notes = append(st.Notes, s)
		}
	})
}

// Asided adds a note under the step: the page tells every scenario whole.
func (l *Live) Asided(s string) { l.Noted(s) }

// Answered shows a user's latest answer. A probe's outcome is judged at
// once when every kind of probe judges it alike; a refusal, good in a
// replay probe and bad in a session probe, waits for the probe's verdict.
func (l *Live) Answered(v statelab.Variant, user string, rq scenarios.Request, o scenarios.Outcome) {
	state, judged := string(o), ""
	switch {
	case o == scenarios.Kept:
		judged = "good"
	case o == scenarios.Refused:
		judged = "pending"
	case o != "":
		judged = "bad"
	case rq.Status == 200 && rq.Error == "":
		state = "ok"
	case rq.Status == 0 || rq.Status >= 500:
		state = string(scenarios.Unavailable)
	default:
		state = "refused"
	}
	l.update(func(st *LiveState) {
		if rq.Instance != "" {
			l.countAnswer(st, string(v), rq.Instance)
		}
		i, ok := l.index[v][user]
		if !ok {
			return
		}
		u := &st.Users[string(v)][i]
		u.State, u.Judged, u.Step = state, judged, st.Step
		if rq.Instance != "" {
			u.Instance = rq.Instance
		}
		if rq.Path == "/login" && rq.Method == http.MethodPost && rq.Status == 200 && rq.Instance != "" {
			u.Home = rq.Instance
		}
	})
}

// countAnswer counts an answer of an instance in the step under way,
// adding the instance when the balancer's view has not listed it yet.
func (l *Live) countAnswer(st *LiveState, v, instance string) {
	in := st.Instances[v]
	for j := range in {
		if in[j].Name == instance {
			in[j].Answers++
			return
		}
	}
	if len(in) < maxLiveInstances {
		st.Instances[v] = append(in, LiveInstance{Name: instance, Answers: 1}) // its state unknown until a reading tells it
	}
}

// Probed replaces each user's state with its outcome at the probe (the
// worst of its answers, as the verdict counts it), judged by the probe's
// kind, so that the squares count what the terminal prints.
func (l *Live) Probed(vd *scenarios.Verdict) {
	l.update(func(st *LiveState) {
		p := &LiveProbe{Name: vd.Name, Step: st.Step, Kind: string(vd.Kind), Counts: map[string][]LiveCount{}}
		for v, outs := range vd.Outcome {
			for user, o := range outs {
				if i, ok := l.index[v][user]; ok {
					u := &st.Users[string(v)][i]
					u.State, u.Judged, u.Step = string(o), judgement(o.Good(vd.Kind)), st.Step
				}
			}
			if t := vd.Tallies[v]; t != nil && t.Users > 0 {
				p.Counts[string(v)] = counts(*t)
			}
		}
		st.Probe = p
	})
}

func judgement(good bool) string {
	if good {
		return "good"
	}
	return "bad"
}

// counts lists a tally's outcomes with users, in the reports' order.
func counts(t scenarios.Tally) []LiveCount {
	var out []LiveCount
	for _, o := range scenarios.Outcomes {
		if n := t.Of(o); n > 0 {
			out = append(out, LiveCount{Outcome: string(o), Word: o.Word(), Users: n, Good: o.Good(t.Kind)})
		}
	}
	return out
}

// ScenarioFinished shows the verdict, the expectations and the lesson.
func (l *Live) ScenarioFinished(_ *scenarios.Scenario, rep *scenarios.ScenarioReport) {
	l.update(func(st *LiveState) {
		st.Waiting, st.Verdict = false, false
		st.Done = append(st.Done, LiveDone{Name: rep.Name, OK: rep.OK, How: ended(rep)})
		if len(st.Done) > 100 {
			st.Done = st.Done[len(st.Done)-100:]
		}
		f := &LiveFinished{Name: rep.Name, OK: rep.OK, Inconclusive: rep.Inconclusive, How: ended(rep), Skipped: rep.Skipped, Stopped: rep.Stopped, Error: rep.Error,
			Verdict: rep.Verdict, Expectations: rep.Expectations, Lesson: rep.Lesson}
		if rep.Variants != nil {
			f.Counts, f.Recover = map[string][]LiveCount{}, map[string]string{}
			for v, t := range rep.Variants {
				f.Counts[v] = counts(t)
				if t.RecoverSeconds != nil && *t.RecoverSeconds > 0 {
					f.Recover[v] = t.Recover
				}
			}
		}
		if !l.read.IsZero() {
			f.AsOf = l.read.Local().Format("15:04:05")
		}
		st.Finished = f
	})
}

// Instances draws the instances from a reading: a whole one replaces what
// the page shows (keeping the answers counted in the step), another
// changes the instances it names. Once a scenario has ended, its last
// reading stays under its verdict until the next scenario starts.
func (l *Live) Instances(r scenarios.Reading) {
	l.update(func(st *LiveState) {
		if st.kept() {
			return // the lab as the scenario left it is on the page
		}
		if r.Whole {
			if r.Unread != "" {
				st.Followed, st.Unfollow = false, r.Unread
				return
			}
			l.read = r.At
			st.Followed, st.Unfollow = true, ""
			answers := map[string]int{}
			for _, list := range st.Instances {
				for _, in := range list {
					answers[in.Name] = in.Answers
				}
			}
			st.Instances = map[string][]LiveInstance{}
			for _, in := range r.Instances {
				if list := st.Instances[in.Variant]; len(list) < maxLiveInstances {
					st.Instances[in.Variant] = append(list, liveInstance(in, answers[in.Name]))
				}
			}
			return
		}
		for _, in := range r.Instances {
			if _, shown := st.Variants[in.Variant]; !shown {
				continue // Redis itself, say: the page draws the variants' instances
			}
			list := st.Instances[in.Variant]
			i := slices.IndexFunc(list, func(li LiveInstance) bool { return li.Name == in.Name })
			switch {
			case i >= 0 && in.State == scenarios.Removed:
				st.Instances[in.Variant] = slices.Delete(list, i, i+1)
			case i >= 0:
				list[i] = liveInstance(in, list[i].Answers)
			case in.State != scenarios.Removed && len(list) < maxLiveInstances:
				st.Instances[in.Variant] = append(list, liveInstance(in, 0))
			}
		}
	})
}

// liveInstance is an instance of a reading, with the answers it gave in
// the step under way.
func liveInstance(in scenarios.InstanceState, answers int) LiveInstance {
	return LiveInstance{Name: in.Name, State: in.State, Tone: in.Tone, Why: in.Why, Sessions: in.Sessions, Answers: answers}
}

// kept reports that the scenario on the page has ended: its last reading
// stays under its verdict.
func (s *LiveState) kept() bool {
	f := s.Finished
	return f != nil && f.Name == s.Scenario
}

// RunFinished says the run is over.
func (l *Live) RunFinished(*scenarios.Journal) {
	l.update(func(st *LiveState) { st.Over, st.Waiting = true, false })
}

// End says the run is over, also when it ended early (stopped, failed or
// interrupted), and, when the lab is held for the room, how it ends.
func (l *Live) End(held string) {
	l.update(func(st *LiveState) { st.Over, st.Held, st.Waiting = true, held, false })
}

// Pacer wraps a step-mode pacer: while it waits for Enter, the page shows
// the step just finished and says which comes next.
func (l *Live) Pacer(next scenarios.Pacer) scenarios.Pacer {
	return livePacer{l, next}
}

type livePacer struct {
	l    *Live
	next scenarios.Pacer
}

func (p livePacer) Pause(ctx context.Context, ps scenarios.Pause) scenarios.Decision {
	p.l.update(func(st *LiveState) { st.Waiting, st.Verdict = true, ps.Verdict })
	defer p.l.update(func(st *LiveState) { st.Waiting, st.Verdict = false, false })
	return p.next.Pause(ctx, ps)
}

// Served reports whether a page has ever fetched the state, and whether a
// page has drawn it as it is now: a page asks for the state with the
// version it last drew (state?seen=N), so that the run's end is known to
// have reached a browser, not only to have left this process (a response
// in flight through Docker's port proxy is lost when the container ends).
func (l *Live) Served() (ever, current bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.served, l.seen == l.version
}

// Handler serves the live page (/) and its state (/state).
func (l *Live) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", pages.Static(livePage))
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		seen, err := strconv.ParseInt(r.URL.Query().Get("seen"), 10, 64)
		l.mu.Lock()
		st := l.state
		st.Version = l.version
		l.served = true
		if err == nil && seen <= l.version {
			l.seen = max(l.seen, seen)
		}
		// Encoding under the lock is the deep copy: nothing the JSON
		// holds is shared with a later change.
		body, err := json.Marshal(st)
		l.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pages.RawJSON(w, body)
	})
	return mux
}

// State returns a copy of the state, as GET /state serves it.
func (l *Live) State() LiveState {
	l.mu.Lock()
	body, _ := json.Marshal(l.state)
	l.mu.Unlock()
	var st LiveState
	_ = json.Unmarshal(body, &st)
	return st
}

//go:embed live.html
var livePage []byte
