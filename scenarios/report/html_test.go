package report_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"statelab/scenarios"
	"statelab/scenarios/report"
)

// TestHTMLHostileJournal: a journal is a file anyone can hand a student;
// what it says is text on the page, never markup or script, wherever it
// lands (title, claims, steps, notes, tables, expectations, lesson,
// instance names, the run's host), and a journal with missing parts
// still makes a page.
func TestHTMLHostileJournal(t *testing.T) {
	const evil = `</title><script>alert(1)</script><img src=x onerror=alert(2)>"'`
	start := time.Now()
	j := &scenarios.Journal{
		Runtime: evil, Host: evil, Started: start, Users: 2, OutputVersion: scenarios.OutputVersion,
		Scenarios: []*scenarios.ScenarioReport{
			{Name: evil, Title: evil, Summary: evil, Started: start, Seconds: 1, Lesson: evil, Error: evil,
				Claims:       []scenarios.Claim{{Source: evil, Row: evil, Text: evil}},
				Steps:        []scenarios.StepReport{{Title: evil, Why: evil, Notes: []string{evil}}},
				Tables:       []scenarios.Table{{Title: evil, Columns: []string{evil}, Rows: [][]string{{evil}}}},
				Expectations: []scenarios.ExpectationResult{{Variant: evil, Text: evil, Observed: evil}},
				Requests:     []scenarios.Request{{T: 0.5, Variant: "memory", User: evil, Path: evil, Instance: evil, Outcome: evil, Status: 200}},
			},
			nil, // a journal with a hole in it
			{Name: "empty"},
		},
		Output: []scenarios.OutputEvent{
			{Kind: scenarios.OutScenario, Scenario: &scenarios.ScenarioHead{Name: evil}},
			{Kind: scenarios.OutInstances, T: 0.2, Reading: &scenarios.Reading{Instances: []scenarios.InstanceState{{Variant: "memory", Name: evil, State: "down", Why: evil + " by the scenario"}}}},
			{Kind: scenarios.OutStep, N: 99},
			{Kind: scenarios.OutFinished, Name: evil},
		},
	}
	// Through a file, as lab replay --html reads one.
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hostile.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := scenarios.LoadJournal(file)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := report.WriteHTML(&b, loaded); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "<img", "</title><"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q from the journal as markup", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the journal's text is not on the page, escaped")
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("the page lost its policy against loading anything")
	}
}
