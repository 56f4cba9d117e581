package scenarios

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/internal/machine"
)

// Journal is a whole run, as `lab run --json` writes it: every scenario's
// figures, expectations and requests, so that a class can diff two runs.
type Journal struct {
	Runtime string `json:"runtime"`
	// Host says what ran the lab: Go, cores, system.
	Host    string    `json:"host"`
	Seed    uint64    `json:"seed"`
	Users   int       `json:"users"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"duration_seconds"`
	// OK: every expectation of every scenario that ran to its end holds.
	OK bool `json:"ok"`
	// Failed counts the scenarios with an expectation that FAILS or a
	// step that failed; Inconclusive those the machine was too busy to
	// judge (and none failed).
	Failed       int `json:"failed"`
	Inconclusive int `json:"inconclusive"`
	// Calibration is what the run measured of the machine before its
	// first scenario, and the timing it chose.
	Calibration *Calibration      `json:"calibration,omitempty"`
	Scenarios   []*ScenarioReport `json:"scenarios"`
	// Summary is what each variant showed in each scenario, a row per
	// scenario, probe and variant.
	Summary []SummaryRow `json:"summary"`
	// Output is what the run told its observers (the terminal, the live
	// page), in order: what lab replay tells again. OutputVersion is its
	// version; OutputWhole is false when the run said more than a journal
	// keeps (the first 100,000 events are).
	OutputVersion int           `json:"output_version"`
	OutputWhole   bool          `json:"output_whole"`
	Output        []OutputEvent `json:"output"`
}

// SummaryRow is what one variant showed at one probe of one scenario.
type SummaryRow struct {
	Scenario string         `json:"scenario"`
	Probe    string         `json:"probe"`
	Variant  string         `json:"variant"`
	Kind     Kind           `json:"kind"`
	Users    int            `json:"users"`
	Outcomes map[string]int `json:"outcomes"`
	// Words are the outcomes with their marks: "✗ 10 lost, ✓ 20 kept".
	Words string `json:"words"`
	// Good: every user's outcome was good for the probe's kind.
	Good bool `json:"good"`
	// Recover is the time to recover from the scenario's fault, if any.
	Recover string `json:"recover,omitempty"`
	// Tests names the claims the scenario tests.
	Tests string `json:"tests"`
	// Status is "skipped", "stopped" or "failed" when the scenario did not
	// run to the end, "inconclusive" when the machine was too busy to
	// judge it; "" when it ran and was judged.
	Status string `json:"status,omitempty"`
}

// summarize returns a scenario's rows of the summary: one per variant for
// each of the probes it highlights (its verdict by default).
func summarize(sc *Scenario, rep *ScenarioReport) []SummaryRow {
	status := ""
	switch {
	case rep.Skipped:
		status = "skipped"
	case rep.Stopped:
		status = "stopped"
	case rep.Inconclusive:
		status = "inconclusive"
	case rep.Error != "":
		status = "failed"
	}
	probes := sc.Highlights
	if len(probes) == 0 {
		probes = []string{rep.Verdict}
	}
	var rows []SummaryRow
	for _, name := range probes {
		var vr *VerdictReport
		for i := range rep.Verdicts {
			if rep.Verdicts[i].Name == name {
				vr = &rep.Verdicts[i]
			}
		}
		for _, v := range statelab.Variants {
			row := SummaryRow{Scenario: rep.Name, Probe: name, Variant: string(v), Tests: ClaimsShort(sc.Claims), Status: status, Outcomes: map[string]int{}}
			if vr == nil || (status != "" && status != "inconclusive") {
				if status == "" {
					row.Status = "failed"
				}
				rows = append(rows, row)
				continue
			}
			t := vr.Variants[string(v)]
			if t.Users == 0 {
				continue // not probed at this probe
			}
			row.Kind, row.Users, row.Words = t.Kind, t.Users, t.Words()
			row.Good = t.Good() == t.Users
			for o, n := range t.Count {
				row.Outcomes[string(o)] = n
			}
			if name == rep.Verdict {
				row.Recover = rep.Variants[string(v)].Recover
			}
			rows = append(rows, row)
		}
		if status != "" && status != "inconclusive" {
			break // one row per variant says it
		}
	}
	return rows
}

// ScenarioReport is one scenario's part of the journal.
type ScenarioReport struct {
	Name    string  `json:"name"`
	Title   string  `json:"title"`
	Summary string  `json:"summary"`
	Claims  []Claim `json:"claims"`
	// Started is when the scenario began: its requests' t and its
	// events' time are from here.
	Started time.Time `json:"started"`
	Seconds float64   `json:"duration_seconds"`
	// Variants is the scenario's main verdict (named Verdict), per variant.
	Verdict  string           `json:"verdict"`
	Variants map[string]Tally `json:"variants"`
	// Verdicts are every probe, in order.
	Verdicts     []VerdictReport     `json:"verdicts"`
	Expectations []ExpectationResult `json:"expectations"`
	OK           bool                `json:"ok"`
	// Inconclusive: an expectation did not hold, or a step failed, where
	// the machine disturbed the run (Disturbances): the machine was too
	// busy to judge the scenario. Busy says so in a sentence.
	Inconclusive bool          `json:"inconclusive,omitempty"`
	Busy         string        `json:"busy,omitempty"`
	Disturbances []Disturbance `json:"disturbances,omitempty"`
	// Machine is how busy the machine was while the scenario ran.
	Machine machine.Reading `json:"machine"`
	Skipped bool            `json:"skipped,omitempty"` // by the instructor, in step mode, or for SkipReason
	// SkipReason, when set, is why the scenario could not run here: the
	// runtime lacks a capability it needs.
	SkipReason string       `json:"skip_reason,omitempty"`
	Stopped    bool         `json:"stopped,omitempty"` // the instructor stopped the run here
	Error      string       `json:"error,omitempty"`   // why it did not run to the end
	Lesson     string       `json:"lesson"`
	Steps      []StepReport `json:"steps"`
	Tables     []Table      `json:"tables,omitempty"`
	// Facts are the figures the steps recorded, which the lesson states.
	Facts    map[string]any `json:"facts,omitempty"`
	Events   []api.Event    `json:"events"`
	Requests []Request      `json:"requests"`
}

// VerdictReport is one probe's tallies, and its requests per variant.
type VerdictReport struct {
	Name     string           `json:"name"`
	Kind     Kind             `json:"kind"`
	Variants map[string]Tally `json:"variants"`
	// Requests counts each variant's probe requests, and Bad those whose
	// outcome was not good; Repinned the users the balancer moved.
	Requests map[string]int `json:"requests"`
	Bad      map[string]int `json:"bad_requests"`
	Repinned map[string]int `json:"repinned,omitempty"`
}

// ExpectationResult says whether an expectation held, and what was seen.
type ExpectationResult struct {
	Variant  string `json:"variant"`
	Text     string `json:"text"`
	Holds    bool   `json:"holds"`
	Observed string `json:"observed"`
	// Inconclusive: it does not hold, but the machine disturbed what it
	// judges: the lab cannot say whether the prediction was wrong.
	Inconclusive bool `json:"inconclusive,omitempty"`
	// Counts: Observed only restates a probe's counts.
	Counts bool `json:"-"`
}

// StepReport is a step as it ran.
type StepReport struct {
	Title   string   `json:"title"`
	Why     string   `json:"why"`
	Notes   []string `json:"notes,omitempty"`
	Seconds float64  `json:"seconds"`
}

// Table is an extra table a scenario reports (the cost scenario's figures).
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Request is one request of one virtual user.
type Request struct {
	T        float64 `json:"t"` // seconds since the scenario started
	Step     int     `json:"step"`
	Variant  string  `json:"variant"`
	User     string  `json:"user"`
	Method   string  `json:"method"`
	Path     string  `json:"path"`
	Status   int     `json:"status"` // 0: no response
	Instance string  `json:"instance,omitempty"`
	Outcome  string  `json:"outcome,omitempty"` // for probes
	Gone     string  `json:"gone,omitempty"`    // why a lost session is gone
	// Cause says why the answer was not a plain success: the instance's
	// or the balancer's words, why a session is gone, how a cart differs.
	Cause string `json:"cause,omitempty"`
	// Fault names the fault the scenario injected that explains a failed
	// answer; TimedOut says that none does and that it timed out (the
	// machine's doing, when it was seen to be slow; else the lab's).
	Fault     string  `json:"fault,omitempty"`
	TimedOut  bool    `json:"timed_out,omitempty"`
	Repinned  string  `json:"repinned,omitempty"`
	Error     string  `json:"error,omitempty"`
	Millis    float64 `json:"ms"`
	CredBytes int     `json:"credential_bytes"`
}

// SkippedHow says why a skipped scenario was skipped: "by the instructor",
// or "this runtime (...) cannot delay Redis's answers".
func (r *ScenarioReport) SkippedHow() string {
	if r.SkipReason != "" {
		return "skipped: " + r.SkipReason
	}
	return "skipped by the instructor"
}

// MaxJournal bounds the JSON of a journal LoadJournal reads.
const MaxJournal = 256 << 20

// NotAJournal is a file LoadJournal cannot play: JSON, when set, is why
// it is not a journal's JSON.
type NotAJournal struct {
	Path string
	JSON error
	Why  string
}

func (e NotAJournal) Error() string {
	if e.JSON != nil {
		return fmt.Sprintf("%s is not a journal (lab run --json writes one): %v", e.Path, e.JSON)
	}
	return e.Path + " " + e.Why
}

// LoadJournal reads a journal lab run --json wrote, compressed with gzip
// or not (a .gz name writes it compressed), at most MaxJournal bytes of
// JSON however small the file, and refuses one that holds no output lab
// replay can tell.
func LoadJournal(path string) (*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in := bufio.NewReader(f)
	var r io.Reader = in
	if magic, _ := in.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxJournal+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(data) > MaxJournal {
		return nil, NotAJournal{Path: path, Why: fmt.Sprintf("holds more than %d MB of JSON: not a journal lab replay reads", MaxJournal>>20)}
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, NotAJournal{Path: path, JSON: err}
	}
	if j.OutputVersion != OutputVersion || len(j.Output) == 0 {
		return nil, NotAJournal{Path: path, Why: fmt.Sprintf("is not a journal lab replay can play: it holds no output of version %d (lab run --json writes it)", OutputVersion)}
	}
	// A file is anyone's: a null where a scenario's report belongs is no
	// scenario (the lab never writes one).
	j.Scenarios = slices.DeleteFunc(j.Scenarios, func(s *ScenarioReport) bool { return s == nil })
	return &j, nil
}
