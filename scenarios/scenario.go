// Package scenarios is the lab's engine: virtual users log in through the
// balancer to every variant at once, get a cart, and then a scenario's steps
// break something (kill an instance, restart them, switch routing, stop
// Redis...). The engine runs the steps, probes every user, counts who was
// kept and who was lost, checks that against what the scenario expects of
// each variant, and records everything in a journal.
//
// It knows no scenario (they are in scenarios/catalog) and prints nothing:
// the text printer, the Markdown report and the live page (scenarios/report)
// are Observers of a run. It acts on a lab.Runtime, so the same scenario
// runs on local processes, on the workshop stack's containers, or inside
// one process in tests.
package scenarios

import (
	"context"
	"slices"
	"strings"

	"statelab/lab"

	"statelab"
)

// Scenario is one experiment.
type Scenario struct {
	// Name is what `lab run NAME` takes.
	Name string
	// Summary is the one line `lab list` shows.
	Summary string
	// Setup says, in the title line, how the lab is set up.
	Setup string
	// Claims are the claims of the seed articles the scenario tests.
	Claims []Claim
	// Steps run in order.
	Steps []Step
	// Predict is the scenario's theory: what a variant with these
	// properties must show. Each variant's expectations are derived from
	// its description, none is listed by name.
	Predict func(d statelab.Description) []Expectation
	// Expect is what the scenario expects besides: of no variant in
	// particular, or (in a scenario file) of variants named there. Every
	// probe also expects no wrong user, for every variant.
	Expect []Expectation
	// Lesson is printed at the end; it may use the results.
	Lesson func(res *Result) string
	// Verdict names the probe the verdict table and the journal's
	// "variants" show. Default: the last one.
	Verdict string
	// VerdictKind is the kind of that probe, known before it runs (for
	// the questions of lab run --predict). Default Session.
	VerdictKind Kind
	// Highlights name the probes the run's summary shows. Default: the
	// verdict.
	Highlights []string
	// MaxUsers, when set, caps the users per variant: a scenario that
	// measures per session needs no crowd.
	MaxUsers int
	// Needs are the capabilities the scenario's steps use beyond the
	// core Runtime; on a runtime that lacks one it is skipped, and says why.
	Needs []lab.Capability
	// Fits, when set, says whether the scenario can run on a lab of n
	// instances per variant (a scenario file naming instance 6 cannot run
	// on three), before anything runs.
	Fits func(n int) error
}

// Expectations is what the scenario expects of the lab's variants: its
// theory applied to each description, then Expect.
func (s *Scenario) Expectations() []Expectation {
	var out []Expectation
	if s.Predict != nil {
		for _, d := range statelab.Descriptions() {
			out = append(out, s.Predict(d)...)
		}
	}
	return append(out, s.Expect...)
}

// Claim is a row of the seed articles' comparison table (or a claim made
// elsewhere in them), with where it comes from.
type Claim struct {
	Source string `json:"source"` // e.g. "004"
	Row    string `json:"row"`    // e.g. "Fault Tolerance"
	Text   string `json:"text"`   // what the article says
}

func (c Claim) String() string { return c.Source + ": " + c.Row }

// ClaimsString names claims in a line: "004: Fault Tolerance; 004: ...".
func ClaimsString(cs []Claim) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// ClaimsShort names claims briefly, one source once: "004 Fault Tolerance,
// Sticky sessions; 003 Better approach".
func ClaimsShort(cs []Claim) string {
	var parts []string
	last := ""
	for _, c := range cs {
		if c.Source == last {
			parts[len(parts)-1] += ", " + c.Row
			continue
		}
		parts = append(parts, c.Source+" "+c.Row)
		last = c.Source
	}
	return strings.Join(parts, "; ")
}

// Step is one narrated step of a scenario.
type Step struct {
	Title string
	// Why is the narration: what is about to happen, and why.
	Why string
	Run func(r *Run) error
	// Needs are the capabilities this step uses beyond the core Runtime.
	Needs []lab.Capability
}

// Required lists the capabilities the scenario and its steps need.
func (s *Scenario) Required() []lab.Capability {
	out := slices.Clone(s.Needs)
	for _, st := range s.Steps {
		out = append(out, st.Needs...)
	}
	return out
}

// Expectation is what one variant must show in a scenario.
type Expectation struct {
	Variant statelab.Variant
	Text    string
	// Check returns whether the expectation holds and what was observed.
	Check func(res *Result) (bool, string)
	// Counts says that what Check observes only restates a probe's counts
	// (which the run already printed): a concise report may leave it out.
	Counts bool
}

// Decision is what the instructor chose at a pause in step mode.
type Decision int

// The decisions.
const (
	Go      Decision = iota // run the step, or show the verdict
	Restart                 // start the scenario again from a clean lab
	Skip                    // skip the rest of the scenario
	Quit                    // stop the run
)

// Pause is a moment where a Pacer is asked whether to go on: before step
// Step of Steps, or, with Verdict set, after the last step and before the
// verdict.
type Pause struct {
	Scenario *Scenario
	Step     int
	Steps    int
	Verdict  bool
}

// Pacer decides, at each pause, whether to go on: an instructor at a
// terminal, in step mode. A nil Pacer goes on at once.
type Pacer interface {
	Pause(ctx context.Context, p Pause) Decision
}
