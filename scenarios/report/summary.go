package report

import (
	"fmt"
	"strings"

	"statelab/scenarios"
)

// RunFinished prints, after several scenarios, the summary: what each
// variant showed in each, and the claims each tests.
func (p *Text) RunFinished(j *scenarios.Journal) {
	if len(j.Scenarios) < 2 {
		return
	}
	p.n, p.step = 0, 0
	p.emit("", "")
	p.header(fmt.Sprintf("summary   what each variant showed (users; ✓ good, ✗ bad for what the probe asks; %d users per variant)", j.Users))
	byScenario := map[string][]scenarios.SummaryRow{}
	var order []string
	for _, row := range j.Summary {
		if _, ok := byScenario[row.Scenario]; !ok {
			order = append(order, row.Scenario)
		}
		byScenario[row.Scenario] = append(byScenario[row.Scenario], row)
	}
	for _, name := range order {
		rows := byScenario[name]
		if st := rows[0].Status; st != "" && st != "inconclusive" {
			p.emit("33", fmt.Sprintf("%-16s %s", name, st))
			continue
		}
		probes := map[string][]string{}
		var probeOrder []string
		for _, r := range rows {
			if _, ok := probes[r.Probe]; !ok {
				probeOrder = append(probeOrder, r.Probe)
			}
			words := r.Words
			if words == "" {
				words = "not measured"
			}
			probes[r.Probe] = append(probes[r.Probe], r.Variant+" "+words)
		}
		label := name
		if u := rows[0].Users; u > 0 && u != j.Users {
			label = fmt.Sprintf("%s (%d users)", name, u)
		}
		first := fmt.Sprintf("%-16s", label)
		for _, pr := range probeOrder {
			p.emit("", wrap(first+" ", indent+"       ", pr+": "+strings.Join(probes[pr], " · "), 120))
			first = fmt.Sprintf("%-16s", "")
		}
		if rows[0].Status == "inconclusive" {
			p.emit("1;33", first+" inconclusive: this machine was too busy to judge it (see above)")
		}
	}
	var tests []string
	for _, name := range order {
		tests = append(tests, name+": "+byScenario[name][0].Tests)
	}
	p.emit("2", wrap("tests     ", indent, strings.Join(tests, " · "), 120))
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
	p.emit("", fmt.Sprintf("%d scenarios in %.1f s: %s; %d wrong users %s", len(j.Scenarios), j.Seconds, status, wrong, checked))
}

// scenarioCount says "1 scenario", "3 scenarios".
func scenarioCount(n int) string {
	if n == 1 {
		return "1 scenario"
	}
	return fmt.Sprintf("%d scenarios", n)
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
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := widths[i] - len([]rune(c))
			if i == 0 {
				b.WriteString(c + strings.Repeat(" ", pad))
			} else {
				b.WriteString(strings.Repeat(" ", pad) + c)
			}
		}
		b.WriteString("\n")
	}
	line(t.Columns)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// wrap breaks text into lines of at most width runes: the first line starts
// with first, the others with rest.
func wrap(first, rest, text string, width int) string {
	words := strings.Fields(text)
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
