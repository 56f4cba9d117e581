package scenarios

import "statelab"

// Observer follows a run as it happens: the text printer, the live page and
// tests are observers. The engine calls them in order, from one goroutine at
// a time, except Answered, which virtual users call concurrently.
type Observer interface {
	// RunStarted: the lab is up and the plan made.
	RunStarted(runtime string, plan Plan, scenarios []*Scenario)
	// ScenarioStarted: scenario n of total begins, with these users per
	// variant.
	ScenarioStarted(sc *Scenario, n, total int, users map[statelab.Variant][]string)
	// Calibrated: the run measured the machine (or was told not to) and
	// chose its timing, before the first scenario.
	Calibrated(c Calibration)
	// LabReady: the lab was reset (or is fresh) and every instance is up.
	LabReady(note string)
	// StepStarted: step n of the scenario is about to run.
	StepStarted(sc *Scenario, n int, st Step)
	// Noted: a line about what just happened (a step's note).
	Noted(note string)
	// Asided: a note that repeats what the verdict table or the lesson
	// gives, for a scenario told whole.
	Asided(note string)
	// Detailed: a line of detail, for those who asked for everything
	// (a confirmation the step's title already implies).
	Detailed(note string)
	// Answered: a virtual user got an answer (or none); o is its judgement
	// when the request was a probe, else "".
	Answered(v statelab.Variant, user string, rq Request, o Outcome)
	// Probed: a probe ended with this verdict.
	Probed(v *Verdict)
	// Instances: the lab's instances as the run read them (a whole
	// reading at a scenario's start, after each step and before its
	// verdict) or as they changed (an instance the scenario ended, a
	// balancer event). Called from any goroutine, like Answered.
	Instances(r Reading)
	// ScenarioFinished: the scenario ended (held, failed, skipped or
	// stopped), with its report.
	ScenarioFinished(sc *Scenario, rep *ScenarioReport)
	// RunFinished: every scenario has run.
	RunFinished(j *Journal)
}

// Base is an Observer that ignores everything: embed it and implement only
// what you need.
type Base struct{}

func (Base) RunStarted(string, Plan, []*Scenario)                               {}
func (Base) ScenarioStarted(*Scenario, int, int, map[statelab.Variant][]string) {}
func (Base) Calibrated(Calibration)                                             {}
func (Base) LabReady(string)                                                    {}
func (Base) StepStarted(*Scenario, int, Step)                                   {}
func (Base) Noted(string)                                                       {}
func (Base) Detailed(string)                                                    {}
func (Base) Asided(string)                                                      {}
func (Base) Answered(statelab.Variant, string, Request, Outcome)                {}
func (Base) Probed(*Verdict)                                                    {}
func (Base) Instances(Reading)                                                  {}
func (Base) ScenarioFinished(*Scenario, *ScenarioReport)                        {}
func (Base) RunFinished(*Journal)                                               {}

var _ Observer = Base{}

// Tee tells every event to each of obs, in order.
func Tee(obs ...Observer) Observer { return observers(obs) }

// observers fans every event out to each observer.
type observers []Observer

func (os observers) RunStarted(rt string, p Plan, scs []*Scenario) {
	for _, o := range os {
		o.RunStarted(rt, p, scs)
	}
}

func (os observers) ScenarioStarted(sc *Scenario, n, total int, users map[statelab.Variant][]string) {
	for _, o := range os {
		o.ScenarioStarted(sc, n, total, users)
	}
}

func (os observers) Calibrated(c Calibration) {
	for _, o := range os {
		o.Calibrated(c)
	}
}

func (os observers) LabReady(note string) {
	for _, o := range os {
		o.LabReady(note)
	}
}

func (os observers) StepStarted(sc *Scenario, n int, st Step) {
	for _, o := range os {
		o.StepStarted(sc, n, st)
	}
}

func (os observers) Noted(note string) {
	for _, o := range os {
		o.Noted(note)
	}
}

func (os observers) Asided(note string) {
	for _, o := range os {
		o.Asided(note)
	}
}

func (os observers) Detailed(note string) {
	for _, o := range os {
		o.Detailed(note)
	}
}

func (os observers) Answered(v statelab.Variant, user string, rq Request, out Outcome) {
	for _, o := range os {
		o.Answered(v, user, rq, out)
	}
}

func (os observers) Probed(v *Verdict) {
	for _, o := range os {
		o.Probed(v)
	}
}

func (os observers) Instances(r Reading) {
	for _, o := range os {
		o.Instances(r)
	}
}

func (os observers) ScenarioFinished(sc *Scenario, rep *ScenarioReport) {
	for _, o := range os {
		o.ScenarioFinished(sc, rep)
	}
}

func (os observers) RunFinished(j *Journal) {
	for _, o := range os {
		o.RunFinished(j)
	}
}
