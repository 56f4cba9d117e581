package scenarios

import (
	"fmt"
	"io"
	"strings"

	"statelab/servers"
)

// printer writes the narration and reports for a terminal or a file.
type printer struct {
	w     io.Writer
	color bool
}

const indent = "          "

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *printer) title(sc *Scenario, n, total int) {
	fmt.Fprintln(p.w)
	head := sc.Name + "  (" + sc.Setup + ")"
	if total > 1 {
		head = fmt.Sprintf("%s  [%d/%d]", head, n, total)
	}
	fmt.Fprintln(p.w, p.paint("1", head))
	for i, c := range sc.Claims {
		label := "claim     "
		if i > 0 {
			label = indent
		}
		fmt.Fprintln(p.w, p.paint("2", wrap(label, indent+"  ", c.String()+": \""+c.Text+"\"", 100)))
	}
}

func (p *printer) step(n, total int, st Step) {
	fmt.Fprintf(p.w, "%s  %s\n", p.paint("1;36", fmt.Sprintf("step %d/%d", n, total)), st.Title)
	if st.Why != "" {
		fmt.Fprintln(p.w, p.paint("2", wrap(indent, indent, st.Why, 100)))
	}
}

func (p *printer) note(s string) { fmt.Fprintln(p.w, wrap(indent, indent+"  ", s, 110)) }

func (p *printer) dim(s string) { fmt.Fprintln(p.w, p.paint("2", s)) }

func (p *printer) failed(s string) { fmt.Fprintln(p.w, p.paint("31", indent+s)) }

func (p *printer) prompt(s string) { fmt.Fprint(p.w, p.paint("33", indent+s)) }

// verdictLine prints a probe's outcome in a line per variant.
func (p *printer) verdictLine(v *Verdict) {
	var parts []string
	for _, va := range servers.Variants {
		t := v.Tallies[va]
		var bits []string
		for _, o := range Outcomes {
			if n := t.Count(o); n > 0 {
				bits = append(bits, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(o), "_", " ")))
			}
		}
		if len(bits) == 0 {
			continue // not probed
		}
		parts = append(parts, fmt.Sprintf("%s %s", va, strings.Join(bits, ", ")))
	}
	fmt.Fprintln(p.w, wrap(indent, indent+"  ", v.Name+": "+strings.Join(parts, " · "), 120))
}

// VerdictTable renders tallies as the verdict table.
func VerdictTable(variants map[string]Tally) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s  %5s  %5s  %12s  %9s  %11s  %10s  %s\n", "variant", "users", "kept", "lost session", "lost data", "unavailable", "wrong user", "detect")
	for _, v := range servers.Variants {
		t, ok := variants[string(v)]
		if !ok {
			continue
		}
		detect := "-"
		if t.DetectSeconds != nil {
			detect = fmt.Sprintf("%.2f s", *t.DetectSeconds)
		}
		fmt.Fprintf(&b, "%-7s  %5d  %5d  %12d  %9d  %11d  %10d  %s\n", v, t.Users, t.Kept, t.LostSession, t.LostData, t.Unavailable, t.WrongUser, detect)
	}
	return b.String()
}

func (p *printer) report(rep *ScenarioReport, sc *Scenario) {
	if rep.Variants != nil {
		fmt.Fprintln(p.w, p.paint("1", "verdict   "+rep.Verdict))
		fmt.Fprint(p.w, VerdictTable(rep.Variants))
	}
	for _, t := range rep.Tables {
		fmt.Fprintln(p.w, p.paint("1", t.Title))
		fmt.Fprint(p.w, renderTable(t))
	}
	for i, e := range rep.Expectations {
		label := "expect    "
		if i > 0 {
			label = indent
		}
		mark := p.paint("32", "✓") + " "
		if !e.Holds {
			mark = p.paint("1;31", "✗ DOES NOT HOLD:") + " "
		}
		fmt.Fprintln(p.w, wrap(label+mark, indent+"    ", fmt.Sprintf("%-6s %s: %s", e.Variant, e.Text, e.Observed), 120))
	}
	if rep.Lesson != "" {
		fmt.Fprintln(p.w, p.paint("1", wrap("lesson    ", indent, rep.Lesson+" ("+claimsString(sc.Claims)+")", 100)))
	}
	switch {
	case rep.Error != "":
		fmt.Fprintln(p.w, p.paint("1;31", "FAILED   "+rep.Error))
	case rep.Skipped:
		fmt.Fprintln(p.w, p.paint("33", "skipped"))
	case !rep.OK:
		fmt.Fprintln(p.w, p.paint("1;31", "FAILED   some expectations do not hold (see ✗ above)"))
	}
	fmt.Fprintln(p.w, p.paint("2", fmt.Sprintf("%s took %.1f s, %d requests", rep.Name, rep.Seconds, len(rep.Requests))))
}

func (p *printer) summary(j *Journal) {
	fmt.Fprintln(p.w)
	fmt.Fprintln(p.w, p.paint("1", "summary"))
	for _, s := range j.Scenarios {
		mark := p.paint("32", "✓ holds")
		switch {
		case s.Skipped:
			mark = p.paint("33", "- skipped")
		case !s.OK:
			mark = p.paint("1;31", "✗ FAILED")
		}
		fmt.Fprintf(p.w, "  %-16s %s  (%.1f s)\n", s.Name, mark, s.Seconds)
	}
	fmt.Fprintf(p.w, "%d scenarios in %.1f s on %s\n", len(j.Scenarios), j.Seconds, j.Runtime)
}

func renderTable(t Table) string {
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = len(c)
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
		return first
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

// WriteMarkdown writes a journal as Markdown: per scenario its steps, the
// verdict table, the expectations and the lesson.
func WriteMarkdown(w io.Writer, j *Journal) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# statelab run\n\n%s; %d users per variant, seed %d; %s; %.1f s.\n", j.Runtime, j.Users, j.Seed, j.Started.Format("2006-01-02 15:04 MST"), j.Seconds)
	status := "every expectation holds"
	if !j.OK {
		status = "**some expectations do not hold**"
	}
	fmt.Fprintf(&b, "\nResult: %s.\n", status)
	for _, s := range j.Scenarios {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", s.Name, s.Summary)
		for _, c := range s.Claims {
			fmt.Fprintf(&b, "Claim tested (%s: %s): %q\n\n", c.Source, c.Row, c.Text)
		}
		for i, st := range s.Steps {
			fmt.Fprintf(&b, "%d. **%s** %s\n", i+1, st.Title, st.Why)
			for _, n := range st.Notes {
				fmt.Fprintf(&b, "   - %s\n", n)
			}
		}
		if len(s.Verdicts) > 1 {
			b.WriteString("\n| probe | variant | users | kept | lost session | lost data | unavailable | wrong user |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
			for _, vd := range s.Verdicts {
				for _, v := range servers.Variants {
					t := vd.Variants[string(v)]
					fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", vd.Name, v, t.Users, t.Kept, t.LostSession, t.LostData, t.Unavailable, t.WrongUser)
				}
			}
		}
		if s.Variants != nil {
			fmt.Fprintf(&b, "\nVerdict (%s):\n", s.Verdict)
			b.WriteString("\n| variant | users | kept | lost session | lost data | unavailable | wrong user | detect |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, v := range servers.Variants {
				t := s.Variants[string(v)]
				detect := "-"
				if t.DetectSeconds != nil {
					detect = fmt.Sprintf("%.2f s", *t.DetectSeconds)
				}
				fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", v, t.Users, t.Kept, t.LostSession, t.LostData, t.Unavailable, t.WrongUser, detect)
			}
		}
		for _, t := range s.Tables {
			fmt.Fprintf(&b, "\n%s\n\n| %s |\n|%s\n", t.Title, strings.Join(t.Columns, " | "), strings.Repeat("---|", len(t.Columns)))
			for _, r := range t.Rows {
				fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
			}
		}
		if len(s.Expectations) > 0 {
			b.WriteString("\nExpectations:\n\n")
			for _, e := range s.Expectations {
				mark := "✓"
				if !e.Holds {
					mark = "✗ **does not hold**:"
				}
				fmt.Fprintf(&b, "- %s %s %s: %s\n", mark, e.Variant, e.Text, e.Observed)
			}
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "\n**Failed:** %s\n", s.Error)
		}
		if s.Lesson != "" {
			fmt.Fprintf(&b, "\n**Lesson.** %s\n", s.Lesson)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
