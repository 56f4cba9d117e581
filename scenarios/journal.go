package scenarios

import (
	"context"
	"fmt"
	"sync"
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

// eventLog keeps the balancer's events as they stream in.
type eventLog struct {
	mu     sync.Mutex
	events []lb.Event
	notify chan struct{} // closed and replaced on every event
	ended  bool
}

func newEventLog() *eventLog { return &eventLog{notify: make(chan struct{})} }

func (l *eventLog) follow(stream <-chan lb.Event) {
	for ev := range stream {
		l.mu.Lock()
		l.events = append(l.events, ev)
		close(l.notify)
		l.notify = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

func (l *eventLog) lastID() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return 0
	}
	return l.events[len(l.events)-1].ID
}

func (l *eventLog) after(id int64) []lb.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []lb.Event{}
	for _, ev := range l.events {
		if ev.ID > id {
			out = append(out, ev)
		}
	}
	return out
}

// wait returns the first event that matches, waiting up to limit.
func (l *eventLog) wait(ctx context.Context, limit time.Duration, match func(lb.Event) bool) (lb.Event, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.events); seen++ {
			if match(l.events[seen]) {
				ev := l.events[seen]
				l.mu.Unlock()
				return ev, nil
			}
		}
		notify, ended := l.notify, l.ended
		l.mu.Unlock()
		if ended {
			return lb.Event{}, fmt.Errorf("the balancer's event stream ended")
		}
		select {
		case <-notify:
		case <-deadline.C:
			return lb.Event{}, fmt.Errorf("no such event within %s", limit)
		case <-ctx.Done():
			return lb.Event{}, ctx.Err()
		}
	}
}
