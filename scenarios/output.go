package scenarios

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"statelab"
)

// OutputVersion is the version of the journal's "output" list: what the
// run told its observers, in order, so that lab replay can tell it again.
// A journal without it (older, or not a journal) cannot be replayed.
const OutputVersion = 1

// Output kinds, one per observer call that says something.
const (
	OutRun        = "run"        // the run began (Total scenarios)
	OutCalibrated = "calibrated" // the machine measured (the journal's calibration)
	OutLab        = "lab"        // the lab reset or fresh (Text)
	OutScenario   = "scenario"   // scenario N of Total began, with Users per variant
	OutStep       = "step"       // step N (Title, Why) began
	OutNote       = "note"       // Text, under the step
	OutAside      = "aside"      // Text, when a scenario is told whole
	OutDetail     = "detail"     // Text, when verbose
	OutProbe      = "probe"      // the probe Name ended (its tallies: the report's verdicts)
	OutInstances  = "instances"  // a Reading of the instances (whole, or what changed)
	OutFinished   = "finished"   // the scenario Name ended (its report)
	OutEnd        = "end"        // every scenario ran (the journal's summary)
)

// OutputEvent is one thing the run said, T seconds after it began.
type OutputEvent struct {
	T     float64 `json:"t"`
	Kind  string  `json:"kind"`
	Name  string  `json:"name,omitempty"`
	Text  string  `json:"text,omitempty"`
	N     int     `json:"n,omitempty"`
	Total int     `json:"total,omitempty"`
	Users int     `json:"users,omitempty"`
	// Scenario is what a replay needs of a scenario that began: what the
	// report does not keep.
	Scenario *ScenarioHead `json:"scenario,omitempty"`
	Why      string        `json:"why,omitempty"`
	Reading  *Reading      `json:"reading,omitempty"`
	// Forwarded only (Forward): what the journal keeps elsewhere.
	Names  []string        `json:"names,omitempty"`  // a scenario's users
	Answer *Request        `json:"answer,omitempty"` // an answer
	Probe  *ProbeVerdict   `json:"verdict,omitempty"`
	Report *ScenarioReport `json:"report,omitempty"`
}

// ScenarioHead is a scenario as its beginning is told.
type ScenarioHead struct {
	Name    string   `json:"name"`
	Setup   string   `json:"setup"`
	Claims  []Claim  `json:"claims"`
	Steps   []string `json:"steps"`
	Verdict string   `json:"verdict"`
}

// maxOutput bounds what a journal keeps of a run's output.
const maxOutput = 100_000

// recorder is the observer that writes the output list.
type recorder struct {
	Base
	mu     sync.Mutex
	start  time.Time
	events []OutputEvent
	cut    bool // maxOutput reached: the rest is not kept
}

func (r *recorder) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start, r.events, r.cut = time.Now(), nil, false
}

func (r *recorder) add(e OutputEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) >= maxOutput {
		r.cut = true
		return
	}
	e.T = time.Since(r.start).Seconds()
	r.events = append(r.events, e)
}

// take returns the output, and whether all of it was kept.
func (r *recorder) take() ([]OutputEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events, !r.cut
}

func (r *recorder) RunStarted(_ string, _ Plan, scs []*Scenario) {
	r.add(OutputEvent{Kind: OutRun, Total: len(scs)})
}
func (r *recorder) Calibrated(Calibration) { r.add(OutputEvent{Kind: OutCalibrated}) }
func (r *recorder) LabReady(note string)   { r.add(OutputEvent{Kind: OutLab, Text: note}) }
func (r *recorder) ScenarioStarted(sc *Scenario, n, total int, users map[statelab.Variant][]string) {
	head := &ScenarioHead{Name: sc.Name, Setup: sc.Setup, Claims: sc.Claims, Verdict: sc.Verdict}
	for _, st := range sc.Steps {
		head.Steps = append(head.Steps, st.Title)
	}
	r.add(OutputEvent{Kind: OutScenario, N: n, Total: total, Users: len(users[statelab.Variants[0]]), Scenario: head})
}
func (r *recorder) StepStarted(_ *Scenario, n int, st Step) {
	r.add(OutputEvent{Kind: OutStep, N: n, Text: st.Title, Why: st.Why})
}
func (r *recorder) Noted(s string)    { r.add(OutputEvent{Kind: OutNote, Text: s}) }
func (r *recorder) Asided(s string)   { r.add(OutputEvent{Kind: OutAside, Text: s}) }
func (r *recorder) Detailed(s string) { r.add(OutputEvent{Kind: OutDetail, Text: s}) }
func (r *recorder) Probed(v *Verdict) { r.add(OutputEvent{Kind: OutProbe, Name: v.Name}) }
func (r *recorder) Instances(rd Reading) {
	r.add(OutputEvent{Kind: OutInstances, Reading: &rd})
}
func (r *recorder) ScenarioFinished(sc *Scenario, _ *ScenarioReport) {
	r.add(OutputEvent{Kind: OutFinished, Name: sc.Name})
}
func (r *recorder) RunFinished(*Journal) { r.add(OutputEvent{Kind: OutEnd}) }

// ErrNotReplayable is a journal lab replay cannot tell again.
var ErrNotReplayable = errors.New("not a journal lab replay can play")

// ReplayOptions say how to tell a run again.
type ReplayOptions struct {
	// Speed: 1 as recorded, 2 twice as fast; 0 as fast as possible.
	Speed float64
	// Pause, when set, is asked before each step, as --step does in a
	// live run; a false answer stops the replay.
	Pause func(ctx context.Context, scenario string, step int, title string) bool
}

// ReplayRun tells a recorded run again to obs: every scenario's beginning,
// steps, notes, probes and end, and the run's end, in order, with the
// recorded pauses between them (scaled by Speed).
func ReplayRun(ctx context.Context, j *Journal, obs Observer, o ReplayOptions) error {
	if j.OutputVersion != OutputVersion || len(j.Output) == 0 {
		return fmt.Errorf("%w: it has no output of version %d", ErrNotReplayable, OutputVersion)
	}
	plan := NewPlan(j.Seed, j.Users)
	var (
		sc     *Scenario
		rep    *ScenarioReport
		next   int // the next report not yet told
		start  = time.Now()
		users  map[statelab.Variant][]string
		stopIt bool
		// The scenario's answers, each told when the run had it: T after
		// the scenario began (at began, in the run).
		answers []Request
		began   float64
	)
	answerUntil := func(t float64) {
		for len(answers) > 0 && began+answers[0].T <= t {
			rq := answers[0]
			answers = answers[1:]
			obs.Answered(statelab.Variant(rq.Variant), rq.User, rq, Outcome(rq.Outcome))
		}
	}
	for _, e := range j.Output {
		if o.Speed > 0 {
			wait := time.Until(start.Add(time.Duration(e.T / o.Speed * float64(time.Second))))
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		answerUntil(e.T)
		switch e.Kind {
		case OutRun:
			obs.RunStarted(j.Runtime, plan, make([]*Scenario, e.Total))
		case OutCalibrated:
			if j.Calibration != nil {
				c := *j.Calibration
				c.Timing.StoreTimeout = time.Duration(c.StoreTimeoutMs * float64(time.Millisecond))
				c.Timing.Lifetime = time.Duration(c.LifetimeSec * float64(time.Second))
				obs.Calibrated(c)
			}
		case OutLab:
			obs.LabReady(e.Text)
		case OutScenario:
			if e.Scenario == nil {
				return fmt.Errorf("%w: a scenario's beginning without the scenario", ErrNotReplayable)
			}
			sc = headScenario(e.Scenario)
			rep, answers, began = nil, nil, e.T
			for k := next; k < len(j.Scenarios); k++ {
				if j.Scenarios[k] != nil && j.Scenarios[k].Name == sc.Name {
					rep = j.Scenarios[k]
					answers = slices.Clone(rep.Requests)
					slices.SortStableFunc(answers, func(a, b Request) int { return cmp.Compare(a.T, b.T) })
					break
				}
			}
			users = map[statelab.Variant][]string{}
			for _, v := range statelab.Variants {
				for i := 0; i < e.Users && i < len(plan.Users); i++ {
					users[v] = append(users[v], plan.Users[i].Name)
				}
			}
			obs.ScenarioStarted(sc, e.N, e.Total, users)
		case OutStep:
			if sc == nil {
				continue
			}
			if o.Pause != nil && !o.Pause(ctx, sc.Name, e.N, e.Text) {
				stopIt = true
			}
			if stopIt {
				return nil
			}
			obs.StepStarted(sc, e.N, Step{Title: e.Text, Why: e.Why})
		case OutNote:
			obs.Noted(e.Text)
		case OutAside:
			obs.Asided(e.Text)
		case OutDetail:
			obs.Detailed(e.Text)
		case OutInstances:
			if e.Reading != nil {
				obs.Instances(*e.Reading)
			}
		case OutProbe:
			if rep == nil {
				continue
			}
			for _, vr := range rep.Verdicts {
				if vr.Name == e.Name {
					obs.Probed(verdictOf(vr))
					break
				}
			}
		case OutFinished:
			answerUntil(math.Inf(1)) // the scenario's last answers, before its verdict
			for k := next; k < len(j.Scenarios); k++ {
				if r := j.Scenarios[k]; r != nil && r.Name == e.Name {
					head := sc
					if head == nil || head.Name != e.Name {
						head = &Scenario{Name: e.Name}
					}
					obs.ScenarioFinished(head, r)
					next = k + 1
					break
				}
			}
		case OutEnd:
			obs.RunFinished(j)
		}
	}
	return nil
}

// headScenario is a scenario as far as its telling needs: its steps have
// titles, nothing to run.
func headScenario(h *ScenarioHead) *Scenario {
	sc := &Scenario{Name: h.Name, Setup: h.Setup, Claims: h.Claims, Verdict: h.Verdict}
	for _, t := range h.Steps {
		sc.Steps = append(sc.Steps, Step{Title: t})
	}
	return sc
}

// verdictOf is a probe's verdict as the report keeps it.
func verdictOf(vr VerdictReport) *Verdict {
	v := &Verdict{Name: vr.Name, Kind: vr.Kind, Tallies: map[statelab.Variant]*Tally{}, Repinned: map[statelab.Variant]int{}}
	for name, t := range vr.Variants {
		t := t
		v.Tallies[statelab.Variant(name)] = &t
	}
	for name, n := range vr.Repinned {
		v.Repinned[statelab.Variant(name)] = n
	}
	return v
}
