package report

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
)

// The live page's state, as GET /state sends it to the page.

// LiveVariant is what the page shows of a variant's description.
type LiveVariant struct {
	Caption    string `json:"caption"`
	Colour     string `json:"colour"`
	DarkColour string `json:"dark_colour"`
	// InstancesHold says its instances hold sessions themselves; Held
	// says, when they do not, who does.
	InstancesHold bool   `json:"instances_hold"`
	Held          string `json:"held,omitempty"`
}

// liveVariant is what the page needs of a variant's description.
func liveVariant(d statelab.Description) LiveVariant {
	lv := LiveVariant{Caption: d.Caption, Colour: d.Colour, DarkColour: d.DarkColour, InstancesHold: !d.Shared()}
	switch d.Home {
	case statelab.Store:
		lv.Held = "its instances hold no session: Redis holds them, for every instance"
	case statelab.Client:
		lv.Held = "its instances hold no session: each client carries its own"
	}
	return lv
}

// LiveState is the body of GET /state.
type LiveState struct {
	Version int64 `json:"version"`
	// Elsewhere, when set, says that another run reset the lab since the
	// scenario on the page (whose verdict is then no longer shown).
	Elsewhere string `json:"elsewhere,omitempty"`
	Runtime   string `json:"runtime"`
	Scenario  string `json:"scenario"`
	Setup     string `json:"setup"`
	N         int    `json:"n"`     // the scenario is number N
	Total     int    `json:"total"` // of Total in the run
	// Step is the step under way or, with Waiting, the next one.
	Step  int    `json:"step"`
	Steps int    `json:"steps"`
	Title string `json:"title"`
	Why   string `json:"why"`
	// Notes are what the step under way has noted.
	Notes []string `json:"notes"`
	// Prev is the step before Step, with all its notes.
	Prev *LiveStep `json:"prev,omitempty"`
	// Waiting: in step mode, the run waits for Enter before step Step
	// (or, with Verdict, before the verdict).
	Waiting bool `json:"waiting"`
	Verdict bool `json:"verdict_next"`
	// Order is the variants, in the order the page shows them.
	Order []string `json:"order"`
	// Variants describe them: the page's colours and captions.
	Variants map[string]LiveVariant `json:"variants"`
	// Users are each variant's users, in plan order: the first
	// maxLiveUsers of them; UsersTotal counts them all.
	Users      map[string][]LiveUser `json:"users"`
	UsersTotal map[string]int        `json:"users_total"`
	// Instances are each variant's instances as the run's readings (its
	// events) last told them, at most 16 per variant.
	Instances map[string][]LiveInstance `json:"instances"`
	// Probe is the latest probe's verdict in this scenario.
	Probe *LiveProbe `json:"probe,omitempty"`
	// Finished is the latest scenario that ended, with its verdict.
	Finished *LiveFinished `json:"finished,omitempty"`
	Done     []LiveDone    `json:"done"` // scenarios finished, in order
	// Over: every scenario has run (or the run was stopped). Held, when
	// the lab is kept running after it (--hold), says until when.
	Over bool   `json:"over"`
	Held string `json:"held,omitempty"`
	// Followed is false while the balancer cannot be read: then the
	// instance states are not current, and the page says so.
	Followed bool   `json:"followed"`
	Unfollow string `json:"unfollowed,omitempty"` // why not
}

// LiveStep is a step and the notes it made.
type LiveStep struct {
	N     int      `json:"n"`
	Title string   `json:"title"`
	Notes []string `json:"notes"`
}

// LiveUser is a user and its latest answer. Home is the instance that
// answered its latest login: the one that holds its session, for the
// memory variant, and where the balancer pinned it. State is an outcome
// when a probe judged the user, else "ok", "refused" or "unavailable"
// for other requests, or "new". Judged is "good" or "bad" when the state
// is a probe's outcome whose judgement is known, "pending" for a probe's
// refusal before the probe's verdict, else "".
type LiveUser struct {
	Name     string `json:"name"`
	Home     string `json:"home,omitempty"`
	Instance string `json:"instance,omitempty"` // answered its latest request
	State    string `json:"state"`
	Judged   string `json:"judged,omitempty"`
	Step     int    `json:"step"` // the step of its latest answer
}

// LiveInstance is an instance as the run's last reading told it: the
// balancer's view, what the scenario did to it, its own /stats.
type LiveInstance struct {
	Name  string `json:"name"`
	State string `json:"state"`          // up, down, draining, disabled; "" unknown
	Tone  string `json:"tone,omitempty"` // the balancer's colour for the state: good, warn, bad
	Why   string `json:"why,omitempty"`
	// Sessions it holds itself (nil: unknown, it did not answer /stats).
	Sessions *int64 `json:"sessions,omitempty"`
	// Answers it gave in the step under way (or the last one).
	Answers int `json:"answers"`
}

// LiveProbe is a probe's verdict: per variant, users per outcome.
type LiveProbe struct {
	Name   string                 `json:"name"`
	Step   int                    `json:"step"`
	Kind   string                 `json:"kind"`
	Counts map[string][]LiveCount `json:"counts"`
}

// LiveCount is how many users had an outcome, and whether it is good.
type LiveCount struct {
	Outcome string `json:"outcome"`
	Word    string `json:"word"`
	Users   int    `json:"users"`
	Good    bool   `json:"good"`
}

// LiveFinished is a finished scenario: its verdict's counts, its
// expectations and lesson, as the terminal prints them.
type LiveFinished struct {
	Name         string                        `json:"name"`
	OK           bool                          `json:"ok"`
	Inconclusive bool                          `json:"inconclusive,omitempty"`
	How          string                        `json:"how"` // as LiveDone says it
	Skipped      bool                          `json:"skipped,omitempty"`
	Stopped      bool                          `json:"stopped,omitempty"`
	Error        string                        `json:"error,omitempty"`
	Verdict      string                        `json:"verdict,omitempty"`
	Counts       map[string][]LiveCount        `json:"counts,omitempty"`
	Recover      map[string]string             `json:"recover,omitempty"`
	Expectations []scenarios.ExpectationResult `json:"expectations"`
	Lesson       string                        `json:"lesson,omitempty"`
	// AsOf is when the run took its last reading of the instances
	// (15:04:05), as the scenario ended: kept from then on, so that what
	// the page shows under the verdict is the lab as the scenario left it,
	// not what a person did to it afterwards.
	AsOf string `json:"as_of,omitempty"`
}

// LiveDone is a finished scenario, whether its expectations held, and how
// it ended, in words: "every expectation holds", "2 of 5 expectations
// FAIL", "skipped by the instructor", "stopped by the instructor",
// "failed: ...".
type LiveDone struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	How  string `json:"how"`
}

// ended says how a scenario ended.
func ended(rep *scenarios.ScenarioReport) string {
	failed := 0
	for _, e := range rep.Expectations {
		if !e.Holds && !e.Inconclusive {
			failed++
		}
	}
	switch {
	case rep.Skipped:
		return rep.SkippedHow()
	case rep.Stopped:
		return "stopped by the instructor"
	case rep.Inconclusive:
		return rep.Busy
	case rep.Error != "":
		return "failed: " + rep.Error
	case failed > 0:
		return fmt.Sprintf("%d of %d expectations FAIL", failed, len(rep.Expectations))
	case !rep.OK:
		return "did not pass"
	}
	return "every expectation holds"
}
