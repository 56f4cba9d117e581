package report

import (
	"fmt"
	"strings"

	"statelab"

	"statelab/scenarios"
)

// RunFinished prints, after several scenarios, the grid: a row per
// scenario, a column per variant, each cell what its verdict probe found
// (the outcome that matters: the bad one if any, with its count), then
// the run's end.
func (p *Text) RunFinished(j *scenarios.Journal) {
	if len(j.Scenarios) < 2 {
		return
	}
	p.n, p.step, p.name = 0, 0, ""
	p.emit("", "")
	p.header(fmt.Sprintf("summary   what each variant showed at each scenario's verdict probe (the verdict tables above: a bad outcome when there is one), in users of %d per variant (✓ good, ✗ bad for what it asks)", j.Users))
	p.mu.Lock()
	p.raw("", strings.TrimRight(fitTable(grid(j), p.width), "\n"))
	p.mu.Unlock()
	var fewer []string
	more := false
	for _, s := range j.Scenarios {
		for _, v := range statelab.Variants {
			more = more || strings.HasSuffix(gridCell(s, string(v)), " "+moreBad)
		}
		if u := scenarioUsers(s); u > 0 && u != j.Users {
			fewer = append(fewer, fmt.Sprintf("%s %d", s.Name, u))
		}
	}
	key := "unavail.: unavailable (a 5xx or no answer); accepted: the old or forged credential worked; dupl.: duplicated (a write applied twice). "
	if more {
		key += moreBad + ": other bad outcomes too (its verdict table has them). "
	}
	if len(fewer) > 0 {
		key += "*: the verdict probe asked fewer users per variant (" + strings.Join(fewer, ", ") + "). "
	}
	if j.Inconclusive > 0 {
		key += "(busy): inconclusive, this machine was too busy to judge it. "
	}
	p.emit("2", wrap("", indent, key+"The claims each scenario tests: lab list --claims.", p.width))
	wrong, held := 0, 0
	for _, s := range j.Scenarios {
		for _, e := range s.Expectations {
			if e.Text == scenarios.WrongUserCheck && e.Holds {
				held++
			}
		}
		for _, vr := range s.Verdicts {
			for _, t := range vr.Variants {
				wrong += t.Of(scenarios.WrongUser)
			}
		}
	}
	status := "every expectation holds"
	switch {
	case j.Failed > 0:
		status = "some expectations FAIL (marked above)"
	case j.Inconclusive > 0:
		status = fmt.Sprintf("nothing FAILS, %s inconclusive (the machine was too busy)", scenarioCount(j.Inconclusive))
	case !j.OK:
		status = "some expectations FAIL (marked above)"
	}
	checked := fmt.Sprintf("in the %d scenarios that checked", held)
	if held == len(j.Scenarios) {
		checked = "in any of them"
	}
	users := "wrong users"
	if wrong == 1 {
		users = "wrong user"
	}
	p.emit("", wrap("", indent, fmt.Sprintf("%d scenarios in %.1f s: %s; %d %s %s", len(j.Scenarios), j.Seconds, status, wrong, users, checked), p.width))
}

// gridWords are the outcome words shortened to fit a grid's cell.
var gridWords = map[string]string{"unavailable": "unavail.", "replay accepted": "accepted", "forgery accepted": "accepted", "duplicated": "dupl."}

// grid is the run as a table: a row per scenario, a column per variant.
func grid(j *scenarios.Journal) scenarios.Table {
	t := scenarios.Table{Columns: append([]string{"scenario"}, statelab.VariantNames()...)}
	for _, s := range j.Scenarios {
		row := []string{s.Name}
		for _, v := range statelab.Variants {
			row = append(row, gridCell(s, string(v)))
		}
		if u := scenarioUsers(s); u > 0 && u != j.Users {
			row[0] += "*"
		}
		if s.Inconclusive {
			row[0] += " (busy)"
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// gridCell is what a variant showed at a scenario's verdict probe: its first
// outcome (the bad ones come first), or why there is none.
func gridCell(s *scenarios.ScenarioReport, v string) string {
	switch {
	case s.Skipped:
		return "skipped"
	case s.Stopped:
		return "stopped"
	case s.Variants == nil:
		return "failed"
	}
	t, ok := s.Variants[v]
	if !ok || t.Users == 0 {
		return "-"
	}
	words := t.Words()
	first, _, _ := strings.Cut(words, ", ")
	for long, short := range gridWords {
		first = strings.Replace(first, long, short, 1)
	}
	if strings.Count(words, "✗") > 1 {
		first += " " + moreBad // more bad outcomes than the cell shows
	}
	return first
}

// moreBad marks a grid cell whose variant showed more than one bad
// outcome: the cell names the first, the verdict table every one.
const moreBad = "+"

// scenarioCount says "1 scenario", "3 scenarios".
func scenarioCount(n int) string { return ScenarioCount(n) }

// ScenarioCount says "1 scenario", "3 scenarios".
func ScenarioCount(n int) string {
	if n == 1 {
		return "1 scenario"
	}
	return fmt.Sprintf("%d scenarios", n)
}

// fitTable renders t as a table when it fits in width columns; else
// stacked: each row's first cell on a line, then each other cell under it
// with its column's name.
func fitTable(t scenarios.Table, width int) string {
	table := renderTable(t)
	fits := true
	for _, line := range strings.Split(table, "\n") {
		fits = fits && runeLen(line) <= width
	}
	if fits || len(t.Columns) == 0 {
		return table
	}
	var b strings.Builder
	b.WriteString(t.Columns[0] + "\n")
	for _, r := range t.Rows {
		if len(r) == 0 {
			continue
		}
		b.WriteString(r[0] + "\n")
		for i := 1; i < len(r) && i < len(t.Columns); i++ {
			b.WriteString(wrap(indent+t.Columns[i]+": ", indent+"  ", r[i], width) + "\n")
		}
	}
	return b.String()
}

func renderTable(t scenarios.Table) string {
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = len([]rune(c))
	}
	for _, row := range t.Rows {
		for i, c := range row {
			if i < len(widths) && len([]rune(c)) > widths[i] {
				widths[i] = len([]rune(c))
			}
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			pad := widths[i] - len([]rune(c))
			if i == 0 {
				l.WriteString(c + strings.Repeat(" ", pad))
			} else {
				l.WriteString(strings.Repeat(" ", pad) + c)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(t.Columns)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// bind joins the words a line must not split: a number and its unit
// ("309 µs"), the two sides of "×" ("5 × lime"), a step's number and its
// first word ("15.5 start"), and a bracketed count to the word before it
// ("[5/17]"). A bound group is one word to wrap, unless it alone is wider
// than a line, which never happens with the lab's words.
func bind(words []string) []string {
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); i++ {
		w := words[i]
		n := len(out)
		switch {
		case n > 0 && (units[strings.TrimRight(w, ",;:.)")] || w == "×" || strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]")):
			out[n-1] += " " + w
			if w == "×" && i+1 < len(words) {
				i++
				out[n-1] += " " + words[i]
			}
			continue
		case stepNumber(w) && i+1 < len(words):
			i++
			w += " " + words[i]
		}
		out = append(out, w)
	}
	return out
}

// units are the words that stay on the line of the number before them.
// Punctuation after one ("µs,") does not count.
var units = map[string]bool{"µs": true, "ms": true, "s": true, "MB": true, "bytes": true}

// stepNumber reports a step's label in a run of several: "15.5".
func stepNumber(w string) bool {
	a, b, ok := strings.Cut(w, ".")
	return ok && a != "" && b != "" && strings.Trim(a, "0123456789") == "" && strings.Trim(b, "0123456789") == ""
}

// Wrap breaks text into lines of at most width columns, the first
// starting with first and the others with rest: how lab run's lines fit
// the terminal.
func Wrap(first, rest, text string, width int) string { return wrap(first, rest, text, width) }

// wrap breaks text into lines of at most width runes: the first line starts
// with first, the others with rest.
func wrap(first, rest, text string, width int) string {
	words := bind(strings.Fields(text))
	if len(words) == 0 {
		return strings.TrimRight(first, " ")
	}
	var b strings.Builder
	cur := first + words[0]
	for _, w := range words[1:] {
		if len([]rune(cur))+1+len([]rune(w)) > width {
			b.WriteString(cur + "\n")
			cur = rest + w
			continue
		}
		cur += " " + w
	}
	b.WriteString(cur)
	return b.String()
}

// scenarioUsers is how many users per variant a scenario's verdict
// counted (0: none).
func scenarioUsers(s *scenarios.ScenarioReport) int {
	for _, t := range s.Variants {
		if t.Users > 0 {
			return t.Users
		}
	}
	return 0
}
