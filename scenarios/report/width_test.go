package report

import (
	"bytes"
	"regexp"
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

// TestConciseScenario: in a run of several scenarios, a scenario's verdict
// probe is held back and the scenario ends with its verdict table, a
// column per variant; an aside (a figure that table or the lesson gives)
// is left out. A scenario run alone is told whole, asides included.
func TestConciseScenario(t *testing.T) {
	sc := &scenarios.Scenario{Name: "kill-instance", Setup: "sticky routing", Verdict: "after the kill"}
	rep := journalOf(1).Scenarios[0]
	rep.Verdict = "after the kill"
	probe := &scenarios.Verdict{Name: "after the kill", Tallies: map[statelab.Variant]*scenarios.Tally{}}
	for v, tally := range rep.Variants {
		probe.Tallies[statelab.Variant(v)] = &tally
	}
	users := map[statelab.Variant][]string{statelab.Variants[0]: make([]string, 30)}
	for _, tc := range []struct {
		total               int
		table, aside, probe bool
	}{
		{total: 2, table: true},
		{total: 1, aside: true, probe: true},
	} {
		var b bytes.Buffer
		p := NewText(&b, false, false)
		p.RunStarted("local", scenarios.Plan{}, make([]*scenarios.Scenario, tc.total))
		p.ScenarioStarted(sc, 1, tc.total, users)
		p.Asided("lb: memory-2 down after 180 ms")
		p.Probed(probe)
		p.ScenarioFinished(sc, rep)
		out := b.String()
		if got := strings.Contains(out, "lb: memory-2 down"); got != tc.aside {
			t.Errorf("%d scenarios: aside printed %v, want %v:\n%s", tc.total, got, tc.aside, out)
		}
		if got := strings.Contains(out, "after the kill: memory ✗ 10 lost"); got != tc.probe {
			t.Errorf("%d scenarios: verdict probe's line printed %v, want %v:\n%s", tc.total, got, tc.probe, out)
		}
		want := regexp.MustCompile(`(?m)^verdict   after the kill +memory +redis +jwt +cookie\n +✓ kept +20 +30 +30 +30\n +✗ lost +10 +0 +0 +0$`)
		if got := want.MatchString(out); got != tc.table {
			t.Errorf("%d scenarios: verdict columns printed %v, want %v:\n%s", tc.total, got, tc.table, out)
		}
	}
}

// TestWrapKeepsUnits: a line never ends between a number and its unit,
// inside "5 × lime", between a step's number and its title, or before a
// bracketed count.
func TestWrapKeepsUnits(t *testing.T) {
	for _, tc := range []struct{ text, bad string }{
		{"aaaa bbbb cccc dddd 309 µs without", "309\n"},
		{"aaaa bbbb cccc dddd (1.9 ms, 309 µs) without", "309\n"},
		{"aaaa bbbb cccc dddd 5 × lime, 1 × fig", "×\n"},
		{"aaaa bbbb cccc dddd · 15.5 start instance 2", "15.5\n"},
		{"aaaa bbbb cccc dddd eeee [5/17]", "eeee\n"},
	} {
		for width := 10; width < 40; width++ {
			got := wrap("", "", tc.text, width)
			if strings.Contains(got, tc.bad) {
				t.Errorf("width %d: %q breaks after %q:\n%s", width, tc.text, strings.TrimSpace(tc.bad), got)
			}
		}
	}
}

// TestNotesCannotDriveTheTerminal: a note or an error carrying an escape
// (a backend's words) is printed with the escape made visible, never sent.
func TestNotesCannotDriveTheTerminal(t *testing.T) {
	var b bytes.Buffer
	p := NewText(&b, false, false)
	p.Noted("backend said \x1b[2J\x1b]52;c;aGk=\x07")
	p.ScenarioFinished(&scenarios.Scenario{Name: "x"}, &scenarios.ScenarioReport{Name: "x", Error: "boom \x1b[1A"})
	if strings.ContainsAny(b.String(), "\x1b\x07") {
		t.Errorf("an escape reached the terminal: %q", b.String())
	}
}

// TestGridMoreBad: a variant with two bad outcomes at the verdict probe
// gets a cell that says there is more than the one it names, and the
// key says what the mark means; one bad outcome gets no mark.
func TestGridMoreBad(t *testing.T) {
	rep := &scenarios.ScenarioReport{Name: "x", Variants: map[string]scenarios.Tally{
		"redis":  {Kind: scenarios.Session, Users: 10, Count: map[scenarios.Outcome]int{scenarios.Lost: 5, scenarios.LostData: 5}},
		"memory": {Kind: scenarios.Session, Users: 10, Count: map[scenarios.Outcome]int{scenarios.Lost: 4, scenarios.Kept: 6}},
	}}
	if got := gridCell(rep, "redis"); !strings.HasSuffix(got, " "+moreBad) || !strings.Contains(got, "✗ 5 ") {
		t.Errorf("two bad outcomes: cell %q, want the first and %q", got, moreBad)
	}
	if got := gridCell(rep, "memory"); got != "✗ 4 lost" {
		t.Errorf("one bad outcome: cell %q, want %q", got, "✗ 4 lost")
	}
	var b bytes.Buffer
	p := NewText(&b, false, false)
	p.SetWidth(100)
	// The summary comes with two scenarios or more.
	p.RunFinished(&scenarios.Journal{Users: 10, OK: true, Scenarios: []*scenarios.ScenarioReport{rep, rep}})
	if !strings.Contains(b.String(), moreBad+": other bad outcomes too") {
		t.Errorf("the key does not explain %q:\n%s", moreBad, b.String())
	}
}
