package scenarios

import (
	"context"
	"sync"
	"time"

	"statelab"
)

// A run's events, sent to another process as they happen: lab run --up
// tells lab up its run, whose live page then shows it as its own. The
// events are the journal's output events, carrying inline what the
// journal keeps elsewhere (the answers, the probes' verdicts, the
// reports), so that the other side needs nothing else.

// ProbeVerdict is a probe's verdict as a live page needs it.
type ProbeVerdict struct {
	Name    string                        `json:"name"`
	Kind    Kind                          `json:"kind"`
	Tallies map[string]Tally              `json:"tallies"`
	Outcome map[string]map[string]Outcome `json:"outcome"`
}

// Forwarded kinds: an answer (Answer), carried inline only when a run is
// forwarded (a journal keeps its reports' requests instead).
const OutAnswer = "answer"

// Forward is the observer that sends a run's events, in batches, every
// 100 ms and at once at each scenario's end and the run's end. It keeps
// at most maxForward events waiting: past that, answers are dropped (the
// squares they would move are redrawn by the next probe) and everything
// else is kept.
type Forward struct {
	send    func(ctx context.Context, events []OutputEvent) error
	start   time.Time
	mu      sync.Mutex
	pending []OutputEvent
	dropped int
	err     error // the first send that failed
	sending sync.Mutex
	stop    chan struct{}
	done    chan struct{}
}

// maxForward bounds the events waiting to be sent; maxBatch the events
// one send carries.
const (
	maxForward = 20_000
	maxBatch   = 400
)

// NewForward sends a run's events through send until Close.
func NewForward(send func(ctx context.Context, events []OutputEvent) error) *Forward {
	f := &Forward{send: send, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go f.loop()
	return f
}

func (f *Forward) loop() {
	defer close(f.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			f.flush()
			return
		case <-t.C:
			f.flush()
		}
	}
}

// flush sends what waits, in order, a batch at a time.
func (f *Forward) flush() {
	f.sending.Lock()
	defer f.sending.Unlock()
	for {
		f.mu.Lock()
		n := min(len(f.pending), maxBatch)
		batch := f.pending[:n:n]
		f.pending = f.pending[n:]
		failed := f.err != nil
		f.mu.Unlock()
		if n == 0 || failed {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f.send(ctx, batch)
		cancel()
		if err != nil {
			f.mu.Lock()
			f.err = err
			f.mu.Unlock()
			return
		}
	}
}

// Close sends what waits and stops; it returns the first send's error.
func (f *Forward) Close() error {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *Forward) add(e OutputEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pending) >= maxForward && e.Kind == OutAnswer {
		f.dropped++
		return
	}
	e.T = time.Since(f.start).Seconds()
	f.pending = append(f.pending, e)
}

var _ Observer = (*Forward)(nil)

func (f *Forward) RunStarted(runtime string, _ Plan, scs []*Scenario) {
	f.add(OutputEvent{Kind: OutRun, Text: runtime, Total: len(scs)})
}
func (f *Forward) Calibrated(Calibration) {}
func (f *Forward) LabReady(note string)   { f.add(OutputEvent{Kind: OutLab, Text: note}) }
func (f *Forward) ScenarioStarted(sc *Scenario, n, total int, users map[statelab.Variant][]string) {
	head := &ScenarioHead{Name: sc.Name, Setup: sc.Setup, Claims: sc.Claims, Verdict: sc.Verdict}
	for _, st := range sc.Steps {
		head.Steps = append(head.Steps, st.Title)
	}
	f.add(OutputEvent{Kind: OutScenario, N: n, Total: total, Scenario: head, Names: users[statelab.Variants[0]]})
}
func (f *Forward) StepStarted(_ *Scenario, n int, st Step) {
	f.add(OutputEvent{Kind: OutStep, N: n, Text: st.Title, Why: st.Why})
}
func (f *Forward) Noted(s string)    { f.add(OutputEvent{Kind: OutNote, Text: s}) }
func (f *Forward) Asided(s string)   { f.add(OutputEvent{Kind: OutAside, Text: s}) }
func (f *Forward) Detailed(s string) { f.add(OutputEvent{Kind: OutDetail, Text: s}) }
func (f *Forward) Answered(v statelab.Variant, user string, rq Request, o Outcome) {
	rq.Variant, rq.User, rq.Outcome = string(v), user, string(o)
	f.add(OutputEvent{Kind: OutAnswer, Answer: &rq})
}
func (f *Forward) Instances(r Reading) { f.add(OutputEvent{Kind: OutInstances, Reading: &r}) }
func (f *Forward) Probed(v *Verdict) {
	pv := &ProbeVerdict{Name: v.Name, Kind: v.Kind, Tallies: map[string]Tally{}, Outcome: map[string]map[string]Outcome{}}
	for variant, t := range v.Tallies {
		pv.Tallies[string(variant)] = *t
	}
	for variant, outs := range v.Outcome {
		pv.Outcome[string(variant)] = outs
	}
	f.add(OutputEvent{Kind: OutProbe, Name: v.Name, Probe: pv})
}
func (f *Forward) ScenarioFinished(sc *Scenario, rep *ScenarioReport) {
	r := *rep // what a page shows of it: not every request, event and step
	r.Requests, r.Events, r.Steps, r.Verdicts, r.Tables, r.Facts = nil, nil, nil, nil, nil, nil
	f.add(OutputEvent{Kind: OutFinished, Name: sc.Name, Report: &r})
	f.flush()
}
func (f *Forward) RunFinished(*Journal) {
	f.add(OutputEvent{Kind: OutEnd})
	f.flush()
}

// End says that the run ended early, and why, instead of its end.
func (f *Forward) End(why string) { f.add(OutputEvent{Kind: OutEnd, Text: why}) }

// ender is an observer that can be told a run ended early (the live page).
type ender interface{ End(why string) }

// Teller tells a forwarded run's events to an observer (lab up's live
// page), as the run told them to its own.
type Teller struct {
	Obs Observer
	sc  *Scenario
}

// Tell tells events, in order. Events it cannot tell (a probe without its
// verdict, a step before any scenario) are passed over.
func (t *Teller) Tell(events []OutputEvent) {
	for _, e := range events {
		switch e.Kind {
		case OutRun:
			t.Obs.RunStarted(e.Text, Plan{}, make([]*Scenario, e.Total))
		case OutLab:
			t.Obs.LabReady(e.Text)
		case OutScenario:
			if e.Scenario == nil {
				continue
			}
			t.sc = headScenario(e.Scenario)
			users := map[statelab.Variant][]string{}
			for _, v := range statelab.Variants {
				users[v] = e.Names
			}
			t.Obs.ScenarioStarted(t.sc, e.N, e.Total, users)
		case OutStep:
			if t.sc != nil {
				t.Obs.StepStarted(t.sc, e.N, Step{Title: e.Text, Why: e.Why})
			}
		case OutNote:
			t.Obs.Noted(e.Text)
		case OutAside:
			t.Obs.Asided(e.Text)
		case OutDetail:
			t.Obs.Detailed(e.Text)
		case OutAnswer:
			if a := e.Answer; a != nil {
				t.Obs.Answered(statelab.Variant(a.Variant), a.User, *a, Outcome(a.Outcome))
			}
		case OutInstances:
			if e.Reading != nil {
				t.Obs.Instances(*e.Reading)
			}
		case OutProbe:
			if p := e.Probe; p != nil {
				v := &Verdict{Name: p.Name, Kind: p.Kind, Tallies: map[statelab.Variant]*Tally{}, Outcome: map[statelab.Variant]map[string]Outcome{}}
				for name, tl := range p.Tallies {
					v.Tallies[statelab.Variant(name)] = &tl
				}
				for name, outs := range p.Outcome {
					v.Outcome[statelab.Variant(name)] = outs
				}
				t.Obs.Probed(v)
			}
		case OutFinished:
			if e.Report != nil {
				sc := t.sc
				if sc == nil || sc.Name != e.Name {
					sc = &Scenario{Name: e.Name}
				}
				t.Obs.ScenarioFinished(sc, e.Report)
			}
		case OutEnd:
			if en, ok := t.Obs.(ender); ok && e.Text != "" {
				en.End(e.Text)
			} else {
				t.Obs.RunFinished(&Journal{})
			}
		}
	}
}
