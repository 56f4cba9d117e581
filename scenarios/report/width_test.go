package report

import (
	"bytes"
	"strings"
	"testing"

	"statelab"
	"statelab/scenarios"
)

// journalOf is a run of n scenarios in which memory lost 10 users of 30
// and the other variants kept them all, the last scenario inconclusive.
func journalOf(n int) *scenarios.Journal {
	j := &scenarios.Journal{Users: 30, OK: true, Seconds: 42}
	for i := range n {
		v := map[string]scenarios.Tally{}
		for _, va := range statelab.Variants {
			t := scenarios.Tally{Kind: scenarios.Session, Users: 30, Count: map[scenarios.Outcome]int{scenarios.Kept: 30}}
			if va == statelab.Variants[0] {
				t.Count = map[scenarios.Outcome]int{scenarios.Kept: 20, scenarios.Lost: 10}
			}
			if va == statelab.Variants[1] && i == 1 {
				t.Count = map[scenarios.Outcome]int{scenarios.Unavailable: 30}
			}
			v[string(va)] = t
		}
		name := []string{"kill-instance", "sticky-imbalance", "logout-replay"}[i%3]
		j.Scenarios = append(j.Scenarios, &scenarios.ScenarioReport{Name: name, Variants: v, OK: true, Inconclusive: i == n-1})
	}
	return j
}

// TestGridFitsTheWidth: the run's last lines are a grid with a column per
// variant and a row per scenario, no line wider than the terminal; too
// narrow for the grid, it is stacked, still within the width.
func TestGridFitsTheWidth(t *testing.T) {
	for _, width := range []int{80, 100, 60} {
		var b bytes.Buffer
		p := NewText(&b, false, false)
		p.SetWidth(width)
		p.RunFinished(journalOf(17))
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		for _, l := range lines {
			if runeLen(l) > width {
				t.Errorf("width %d: a line of %d columns: %q", width, runeLen(l), l)
			}
		}
		out := b.String()
		for _, want := range append(statelab.VariantNames(), "✗ 10 lost", "✗ 30 unavail.", "(busy)", "lab list --claims", "17 scenarios in 42.0 s") {
			if !strings.Contains(out, want) {
				t.Errorf("width %d: the summary lacks %q:\n%s", width, want, out)
			}
		}
		if width >= 80 && len(lines) > 30 {
			t.Errorf("width %d: the summary is %d lines, want at most 30:\n%s", width, len(lines), out)
		}
	}
}

func TestPlurals(t *testing.T) {
	for n, want := range map[int]string{0: "0 users", 1: "1 user", 2: "2 users"} {
		if got := scenarios.Plural(n, "user"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
	for ms, want := range map[float64]string{0.0004: "0 µs", 0.085: "85 µs", 0.9994: "999 µs", 1: "1.0 ms", 4.25: "4.2 ms", 622: "622.0 ms"} {
		if got := scenarios.Millis(ms); got != want {
			t.Errorf("Millis(%v) = %q, want %q", ms, got, want)
		}
	}
}
