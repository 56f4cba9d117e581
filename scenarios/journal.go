package scenarios

import (
	"time"

	"statelab/lb"
)

// Journal is a whole run, as `lab run --json` writes it: every scenario's
// figures, expectations and requests, so that a class can diff two runs.
type Journal struct {
	Runtime   string            `json:"runtime"`
	Seed      uint64            `json:"seed"`
	Users     int               `json:"users"`
	Started   time.Time         `json:"started"`
	Seconds   float64           `json:"duration_seconds"`
	OK        bool              `json:"ok"`
	Scenarios []*ScenarioReport `json:"scenarios"`
}

// ScenarioReport is one scenario's part of the journal.
type ScenarioReport struct {
	Name    string  `json:"name"`
	Title   string  `json:"title"`
	Summary string  `json:"summary"`
	Claims  []Claim `json:"claims"`
	Seconds float64 `json:"duration_seconds"`
	// Variants is the scenario's main verdict (named Verdict), per variant.
	Verdict  string           `json:"verdict"`
	Variants map[string]Tally `json:"variants"`
	// Verdicts are every probe, in order.
	Verdicts     []VerdictReport     `json:"verdicts"`
	Expectations []ExpectationResult `json:"expectations"`
	OK           bool                `json:"ok"`
	Skipped      bool                `json:"skipped,omitempty"`
	Error        string              `json:"error,omitempty"`
	Lesson       string              `json:"lesson"`
	Steps        []StepReport        `json:"steps"`
	Tables       []Table             `json:"tables,omitempty"`
	Events       []lb.Event          `json:"events"`
	Requests     []Request           `json:"requests"`
}

// VerdictReport is one probe's tallies.
type VerdictReport struct {
	Name     string           `json:"name"`
	Variants map[string]Tally `json:"variants"`
}

// ExpectationResult says whether an expectation held, and what was seen.
type ExpectationResult struct {
	Variant  string `json:"variant"`
	Text     string `json:"text"`
	Holds    bool   `json:"holds"`
	Observed string `json:"observed"`
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
	T         float64 `json:"t"` // seconds since the scenario started
	Step      int     `json:"step"`
	Variant   string  `json:"variant"`
	User      string  `json:"user"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Status    int     `json:"status"` // 0: no response
	Instance  string  `json:"instance,omitempty"`
	Outcome   string  `json:"outcome,omitempty"` // for probes
	Repinned  string  `json:"repinned,omitempty"`
	Error     string  `json:"error,omitempty"`
	Millis    float64 `json:"ms"`
	CredBytes int     `json:"credential_bytes"`
}
