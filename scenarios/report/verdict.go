package report

import (
	"fmt"
	"strings"

	"statelab"
	"statelab/internal/term"
	"statelab/scenarios"
)

// ScenarioFinished prints the verdict, the expectations, the lesson and how
// the scenario ended.
func (p *Text) ScenarioFinished(sc *scenarios.Scenario, rep *scenarios.ScenarioReport) {
	switch {
	case rep.Skipped:
		p.emit("33", wrap("", indent, fmt.Sprintf("%s %s (%.1f s, %d requests)", rep.Name, rep.SkippedHow(), rep.Seconds, len(rep.Requests)), p.width))
		return
	case rep.Stopped:
		p.emit("33", fmt.Sprintf("%s stopped by the instructor (%.1f s, %d requests)", rep.Name, rep.Seconds, len(rep.Requests)))
		return
	}
	if rep.Variants != nil {
		if p.concise() {
			// The verdict probe's outcomes, a column per variant, as the
			// grid at the end has them.
			table := fitTable(verdictColumns(rep.Verdict, rep.Variants, p.users), p.width-len(indent))
			head, rows, _ := strings.Cut(strings.TrimRight(table, "\n"), "\n")
			p.header("verdict   " + head)
			p.emit("", indent+strings.ReplaceAll(rows, "\n", "\n"+indent))
		}
		if p.total == 1 || p.verbose {
			p.header("verdict   " + rep.Verdict + ": users per variant")
			table := fitTable(verdictTable(rep.Variants), p.width)
			head, rows, _ := strings.Cut(table, "\n")
			p.header(head)
			p.emit("", strings.TrimRight(rows, "\n"))
		} else if line := recovery(rep.Variants); line != "" {
			// After the scenario's faults, whichever probe saw them.
			p.emit("", wrap("recover   ", indent+"  ", line, p.width))
		}
	}
	for i, t := range rep.Tables {
		if i == 0 || p.verbose {
			p.header(t.Title)
			table := fitTable(t, p.width)
			head, rows, _ := strings.Cut(table, "\n")
			p.header(head)
			p.emit("", strings.TrimRight(rows, "\n"))
		}
	}
	// An expectation says whether the scenario's prediction came true,
	// not whether the outcome is good: "holds" and "FAILS", never the
	// outcome marks ✓ and ✗ (a prediction that redis loses everyone holds).
	label := "expect    "
	shown := p.expectations(rep.Expectations)
	if held := len(rep.Expectations) - len(shown); held > 0 && (len(shown) > 0 || p.verbose || p.total == 1) {
		what := fmt.Sprintf("all %d expectations of %s hold", held, rep.Name)
		if len(shown) > 0 {
			what = fmt.Sprintf("%d of %d expectations of %s hold; these do not:", held, len(rep.Expectations), rep.Name)
		}
		p.emit("", label+what)
		label = indent
	}
	for _, e := range shown {
		word, code := ExpectWord(e)
		text := e.Variant + " " + e.Text
		if e.Observed != "" {
			text += ": " + e.Observed
		}
		first := label + word + "  "
		body := wrap(first, indent+strings.Repeat(" ", len(word)+2), text, p.width)
		p.emit("", label+p.paint(code, word)+strings.TrimPrefix(body, label+word))
		label = indent
	}
	switch {
	case rep.Lesson != "":
		p.emit("1", wrap("lesson    ", indent, rep.Lesson+" ("+scenarios.ClaimsShort(sc.Claims)+")", p.width))
	case rep.Inconclusive:
		p.emit("2", "lesson    none from this run: the machine disturbed what it measures")
	}
	end := fmt.Sprintf("%s: every expectation holds (%.1f s, %d requests)", rep.Name, rep.Seconds, len(rep.Requests))
	code := "2"
	switch {
	case rep.OK && !p.verbose && p.total > 1:
		return // the summary says it
	case rep.Inconclusive:
		what := term.Clean(rep.Busy)
		if rep.Error != "" {
			what = "did not run to its end (" + term.Clean(rep.Error) + "); " + term.Clean(rep.Busy)
		}
		end, code = wrap("", indent, fmt.Sprintf("%s: %s (%.1f s, %d requests)", rep.Name, what, rep.Seconds, len(rep.Requests)), p.width), "1;33"
	case rep.Error != "":
		end, code = fmt.Sprintf("%s FAILED: %s (%.1f s)", rep.Name, term.Clean(rep.Error), rep.Seconds), "1;31"
	case !rep.OK:
		n := 0
		for _, e := range rep.Expectations {
			if !e.Holds {
				n++
			}
		}
		end, code = fmt.Sprintf("%s: %s FAIL, marked above (%.1f s, %s)", rep.Name, scenarios.Plural(n, "expectation"), rep.Seconds, scenarios.Plural(len(rep.Requests), "request")), "1;31"
	}
	p.emit(code, end)
}

// ExpectWord is how an expectation is judged, in a word, with its
// colour: holds, FAILS, or inconclusive (it does not hold, but the machine
// disturbed what it judges).
func ExpectWord(e scenarios.ExpectationResult) (word, color string) {
	switch {
	case e.Holds:
		return "holds", "32"
	case e.Inconclusive:
		return "inconclusive", "1;33"
	}
	return "FAILS", "1;31"
}

// expectations returns what to print of a scenario's expectations, one by
// one. Verbose, or a run of one scenario: all of them, with what each saw.
// Concise (a run of several): only those that fail, with what they saw;
// the caller counts the others in one line (the probe lines and the lesson
// give the numbers, the summary the outcome words).
func (p *Text) expectations(es []scenarios.ExpectationResult) []scenarios.ExpectationResult {
	if p.verbose || p.total == 1 {
		return es
	}
	var out []scenarios.ExpectationResult
	for _, e := range es {
		if !e.Holds {
			out = append(out, e)
		}
	}
	return out
}

// recovery says, per variant, how long users took to be served again after
// the scenario's fault, where it has one; variants with the same words
// share them: "memory log in again · redis, jwt none failed".
func recovery(vs map[string]scenarios.Tally) string {
	var order []string
	who := map[string][]string{}
	for _, v := range statelab.Variants {
		if t, ok := vs[string(v)]; ok && t.Recover != "" {
			if _, seen := who[t.Recover]; !seen {
				order = append(order, t.Recover)
			}
			who[t.Recover] = append(who[t.Recover], string(v))
		}
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = strings.Join(who[r], ", ") + " " + r
	}
	return strings.Join(parts, " · ")
}

// verdictColumns is the verdict table turned: a column per variant, a row
// per outcome seen (users), and one for detection when an instance was
// ended; a row of users when some variant probed other than users.
func verdictColumns(probe string, variants map[string]scenarios.Tally, users int) scenarios.Table {
	t := scenarios.Table{Columns: []string{probe}}
	var vs []scenarios.Tally
	present := map[scenarios.Outcome]bool{}
	kind, detect, same := scenarios.Session, false, true
	for _, v := range statelab.Variants {
		tally, ok := variants[string(v)]
		if !ok || tally.Users == 0 {
			continue
		}
		t.Columns = append(t.Columns, string(v))
		vs = append(vs, tally)
		kind = tally.Kind
		for o, n := range tally.Count {
			present[o] = present[o] || n > 0
		}
		detect = detect || tally.DetectSeconds != nil
		same = same && tally.Users == users
	}
	row := func(label string, cell func(scenarios.Tally) string) {
		r := []string{label}
		for _, tally := range vs {
			r = append(r, cell(tally))
		}
		t.Rows = append(t.Rows, r)
	}
	if !same {
		row("users", func(t scenarios.Tally) string { return fmt.Sprint(t.Users) })
	}
	for _, o := range scenarios.Outcomes {
		if present[o] {
			row(o.Mark(kind)+" "+o.Word(), func(t scenarios.Tally) string { return fmt.Sprint(t.Of(o)) })
		}
	}
	if detect {
		row("detect", func(t scenarios.Tally) string {
			if t.DetectSeconds == nil {
				return "-"
			}
			return scenarios.Seconds(*t.DetectSeconds)
		})
	}
	return t
}

// VerdictTable renders tallies as the verdict table: users per variant and
// outcome, with a column only for the outcomes, detection and recovery
// there is something to say about.
func VerdictTable(variants map[string]scenarios.Tally) string {
	return renderTable(verdictTable(variants))
}

func verdictTable(variants map[string]scenarios.Tally) scenarios.Table {
	kinds := scenarios.Session
	present := map[scenarios.Outcome]bool{}
	detect, recover := false, false
	for _, t := range variants {
		kinds = t.Kind
		for o, n := range t.Count {
			if n > 0 {
				present[o] = true
			}
		}
		detect = detect || t.DetectSeconds != nil
		recover = recover || t.Recover != ""
	}
	cols := []string{"variant", "users"}
	var outs []scenarios.Outcome
	for _, o := range scenarios.Outcomes {
		if present[o] {
			outs = append(outs, o)
			cols = append(cols, o.Mark(kinds)+" "+o.Word())
		}
	}
	if detect {
		cols = append(cols, "detect")
	}
	if recover {
		cols = append(cols, "recover")
	}
	t := scenarios.Table{Columns: cols}
	for _, v := range statelab.Variants {
		tally, ok := variants[string(v)]
		if !ok || tally.Users == 0 {
			continue
		}
		row := []string{string(v), fmt.Sprint(tally.Users)}
		for _, o := range outs {
			row = append(row, fmt.Sprint(tally.Of(o)))
		}
		if detect {
			d := "-"
			if tally.DetectSeconds != nil {
				d = scenarios.Seconds(*tally.DetectSeconds)
			}
			row = append(row, d)
		}
		if recover {
			r := tally.Recover
			if r == "" {
				r = "-"
			}
			row = append(row, r)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
