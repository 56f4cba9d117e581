package report

import (
	"fmt"
	"strings"

	"statelab"
	"statelab/scenarios"
)

// ScenarioFinished prints the verdict, the expectations, the lesson and how
// the scenario ended.
func (p *Text) ScenarioFinished(sc *scenarios.Scenario, rep *scenarios.ScenarioReport) {
	switch {
	case rep.Skipped:
		p.emit("33", fmt.Sprintf("%s skipped by the instructor (%.1f s, %d requests)", rep.Name, rep.Seconds, len(rep.Requests)))
		return
	case rep.Stopped:
		p.emit("33", fmt.Sprintf("%s stopped by the instructor (%.1f s, %d requests)", rep.Name, rep.Seconds, len(rep.Requests)))
		return
	}
	if rep.Variants != nil {
		if p.total == 1 || p.verbose {
			p.header("verdict   " + rep.Verdict + ": users per variant")
			table := VerdictTable(rep.Variants)
			head, rows, _ := strings.Cut(table, "\n")
			p.header(head)
			p.emit("", strings.TrimRight(rows, "\n"))
		} else if line := recovery(rep.Variants); line != "" {
			p.emit("", "recover   "+rep.Verdict+": "+line)
		}
	}
	for i, t := range rep.Tables {
		if i == 0 || p.verbose {
			p.header(t.Title)
			table := renderTable(t)
			head, rows, _ := strings.Cut(table, "\n")
			p.header(head)
			p.emit("", strings.TrimRight(rows, "\n"))
		}
	}
	label := "expect    "
	for _, e := range p.expectations(rep.Expectations) {
		mark := p.paint("32", "✓")
		if !e.Holds {
			mark = p.paint("1;31", "✗ DOES NOT HOLD:")
		}
		text := e.Variant + " " + e.Text
		if e.Observed != "" {
			text += ": " + e.Observed
		}
		p.emit("", wrap(label+mark+" ", indent+"    ", text, 120))
		label = indent
	}
	if rep.Lesson != "" {
		p.emit("1", wrap("lesson    ", indent, rep.Lesson+" ("+scenarios.ClaimsShort(sc.Claims)+")", 120))
	}
	end := fmt.Sprintf("%s: every expectation holds (%.1f s, %d requests)", rep.Name, rep.Seconds, len(rep.Requests))
	code := "2"
	switch {
	case rep.OK && !p.verbose && p.total > 1:
		return // the summary says it
	case rep.Error != "":
		end, code = fmt.Sprintf("%s FAILED: %s (%.1f s)", rep.Name, rep.Error, rep.Seconds), "1;31"
	case !rep.OK:
		n := 0
		for _, e := range rep.Expectations {
			if !e.Holds {
				n++
			}
		}
		end, code = fmt.Sprintf("%s: %d expectations do not hold, marked ✗ above (%.1f s, %d requests)", rep.Name, n, rep.Seconds, len(rep.Requests)), "1;31"
	}
	p.emit(code, end)
}

// expectations returns what to print of a scenario's expectations. Verbose,
// or a run of one scenario: all of them, with what each saw. Concise: the wrong-user check only when
// it fails; the others that hold without what they saw (the probe's line
// and the lesson give the numbers), merged by text ("memory, jwt: each
// keeps every user (...)"); those that fail with what they saw.
func (p *Text) expectations(es []scenarios.ExpectationResult) []scenarios.ExpectationResult {
	if p.verbose || p.total == 1 {
		return es
	}
	var out []scenarios.ExpectationResult
	merged := map[string]int{} // text → index in out
	for _, e := range es {
		switch {
		case e.Holds && e.Text == scenarios.WrongUserCheck:
			continue // the wrong-user check: the summary says it
		case e.Holds:
			// What it saw is in the probe's line and the lesson.
			e.Observed = ""
			if i, ok := merged[e.Text]; ok {
				out[i].Variant += ", " + e.Variant
				continue
			}
			merged[e.Text] = len(out)
		}
		out = append(out, e)
	}
	for i, e := range out {
		if strings.Contains(e.Variant, ",") {
			out[i].Variant = e.Variant + ": each"
		}
	}
	return out
}

// recovery says, per variant, how long users took to be served again after
// the scenario's fault, where it has one.
func recovery(vs map[string]scenarios.Tally) string {
	var parts []string
	for _, v := range statelab.Variants {
		if t, ok := vs[string(v)]; ok && t.Recover != "" {
			parts = append(parts, fmt.Sprintf("%s %s", v, t.Recover))
		}
	}
	return strings.Join(parts, " · ")
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
				d = fmt.Sprintf("%.2f s", *tally.DetectSeconds)
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
