package report

import (
	"fmt"
	"io"
	"strings"

	"statelab"
	"statelab/scenarios"
)

// WriteMarkdown writes a journal as Markdown, for a class to read or diff:
// what stateless means here and the outcome words; per scenario its claims,
// steps, verdicts, expectations and lesson; and the summary.
func WriteMarkdown(w io.Writer, j *scenarios.Journal) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# statelab run\n\n%s; %d users per variant, seed %d; %s; %.1f s.\n", j.Runtime, j.Users, j.Seed, j.Started.Format("2006-01-02 15:04 MST"), j.Seconds)
	status := "every expectation holds"
	switch {
	case j.Failed > 0 || (!j.OK && j.Inconclusive == 0):
		status = "**some expectations FAIL**"
	case j.Inconclusive > 0:
		status = fmt.Sprintf("no expectation fails; **%s inconclusive**: this machine was too busy to judge", scenarioCount(j.Inconclusive))
	}
	fmt.Fprintf(&b, "\nResult: %s.\n", status)
	if c := j.Calibration; c != nil {
		fmt.Fprintf(&b, "\nTiming: %s.\n", strings.TrimSuffix(c.Line, "."))
	}
	fmt.Fprintf(&b, "\n**Stateless.** %s\n\n**Outcomes.** %s\n\n**Terms.** %s\n", Definition, Legend, Terms)
	if len(j.Summary) > 0 {
		b.WriteString("\n## Summary\n\nUsers per variant and outcome at each scenario's main probes (✓ good, ✗ bad for what the probe asks).\n\n")
		b.WriteString("| scenario | probe |")
		for _, v := range statelab.Variants {
			b.WriteString(" " + string(v) + " |")
		}
		b.WriteString(" tests |\n|---|---|" + strings.Repeat("---|", len(statelab.Variants)) + "---|\n")
		type key struct{ scenario, probe string }
		cells := map[key]map[string]string{}
		var order []key
		tests := map[string]string{}
		for _, r := range j.Summary {
			k := key{r.Scenario, r.Probe}
			if _, ok := cells[k]; !ok {
				cells[k] = map[string]string{}
				order = append(order, k)
			}
			cells[k][r.Variant] = r.Words
			if r.Status != "" {
				cells[k][r.Variant] = r.Status
			}
			tests[r.Scenario] = r.Tests
		}
		for _, k := range order {
			c := cells[k]
			fmt.Fprintf(&b, "| %s | %s |", k.scenario, k.probe)
			for _, v := range statelab.Variants {
				fmt.Fprintf(&b, " %s |", cell(c[string(v)]))
			}
			fmt.Fprintf(&b, " %s |\n", tests[k.scenario])
		}
	}
	for _, s := range j.Scenarios {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", s.Name, s.Summary)
		for _, c := range s.Claims {
			fmt.Fprintf(&b, "Claim tested (%s: %s): %s\n\n", c.Source, c.Row, c.Text)
		}
		for i, st := range s.Steps {
			fmt.Fprintf(&b, "%d. **%s** %s\n", i+1, st.Title, st.Why)
			for _, n := range st.Notes {
				fmt.Fprintf(&b, "   - %s\n", n)
			}
		}
		for _, vd := range s.Verdicts {
			fmt.Fprintf(&b, "\n%s (%s probe), users per variant:\n\n", vd.Name, vd.Kind)
			vs := vd.Variants
			if vd.Name == s.Verdict {
				vs = s.Variants // with detection and recovery
			}
			b.WriteString(markdownTable(verdictTable(vs)))
		}
		for _, t := range s.Tables {
			fmt.Fprintf(&b, "\n%s\n\n%s", t.Title, markdownTable(t))
		}
		if len(s.Expectations) > 0 {
			b.WriteString("\nExpectations (whether each prediction came true):\n\n")
			for _, e := range s.Expectations {
				mark, _ := ExpectWord(e)
				if e.Holds {
					mark += ":"
				} else {
					mark = "**" + mark + "**:"
				}
				fmt.Fprintf(&b, "- %s %s %s: %s\n", mark, e.Variant, e.Text, e.Observed)
			}
		}
		switch {
		case s.Skipped:
			fmt.Fprintf(&b, "\n*%s.*\n", capitalize(s.SkippedHow()))
		case s.Stopped:
			b.WriteString("\n*Stopped by the instructor.*\n")
		case s.Inconclusive:
			if s.Error != "" {
				fmt.Fprintf(&b, "\n**Did not run to its end:** %s\n", s.Error)
			}
			fmt.Fprintf(&b, "\n**%s**\n", s.Busy)
		case s.Error != "":
			fmt.Fprintf(&b, "\n**Failed:** %s\n", s.Error)
		}
		if s.Lesson != "" {
			fmt.Fprintf(&b, "\n**Lesson.** %s (%s)\n", s.Lesson, scenarios.ClaimsString(s.Claims))
		} else if s.Inconclusive {
			b.WriteString("\n**Lesson.** None from this run: the machine disturbed what it measures.\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdownTable writes a table in Markdown.
func markdownTable(t scenarios.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(t.Columns, " | "), strings.Repeat("---|", len(t.Columns)))
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
	}
	return b.String()
}

// capitalize puts the first letter in upper case.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
