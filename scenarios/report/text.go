// Package report presents a run: the narration and verdicts as text for a
// terminal (Text), the journal as Markdown (WriteMarkdown), and a live page
// in a browser (Live). Text and Live are observers of the engine's run.
package report

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"statelab"
	"statelab/scenarios"
)

// Text writes the narration, the verdicts and the lessons for a terminal
// or a file, as the run goes.
type Text struct {
	scenarios.Base
	w     io.Writer
	color bool
	mu    sync.Mutex // Prompt may write while a step prints
}

// NewText writes to w, with ANSI colours when color is set.
func NewText(w io.Writer, color bool) *Text { return &Text{w: w, color: color} }

var _ scenarios.Observer = (*Text)(nil)

const indent = "          "

func (p *Text) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// RunStarted prints the plan.
func (p *Text) RunStarted(_ string, plan scenarios.Plan, _ []*scenarios.Scenario) {
	fmt.Fprintf(p.w, "plan: %s\n", plan.Describe())
}

// ScenarioStarted prints the title and the claims.
func (p *Text) ScenarioStarted(sc *scenarios.Scenario, n, total int, _ map[statelab.Variant][]string) {
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

// LabReady prints the reset line, dimmed.
func (p *Text) LabReady(note string) { fmt.Fprintln(p.w, p.paint("2", note)) }

// StepStarted prints the step's title and narration.
func (p *Text) StepStarted(sc *scenarios.Scenario, n int, st scenarios.Step) {
	fmt.Fprintf(p.w, "%s  %s\n", p.paint("1;36", fmt.Sprintf("step %d/%d", n, len(sc.Steps))), st.Title)
	if st.Why != "" {
		fmt.Fprintln(p.w, p.paint("2", wrap(indent, indent, st.Why, 100)))
	}
}

// Noted prints a note under the step.
func (p *Text) Noted(s string) { fmt.Fprintln(p.w, wrap(indent, indent+"  ", s, 110)) }

func (p *Text) prompt(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, p.paint("33", indent+s))
}

// Probed prints a probe's outcome in a line per variant.
func (p *Text) Probed(v *scenarios.Verdict) {
	var parts []string
	for _, va := range statelab.Variants {
		t := v.Tallies[va]
		var bits []string
		for _, o := range scenarios.Outcomes {
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
func VerdictTable(variants map[string]scenarios.Tally) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s  %5s  %5s  %12s  %9s  %11s  %10s  %s\n", "variant", "users", "kept", "lost session", "lost data", "unavailable", "wrong user", "detect")
	for _, v := range statelab.Variants {
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

// ScenarioFinished prints the verdict table, the expectations and the
// lesson.
func (p *Text) ScenarioFinished(sc *scenarios.Scenario, rep *scenarios.ScenarioReport) {
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
		fmt.Fprintln(p.w, p.paint("1", wrap("lesson    ", indent, rep.Lesson+" ("+scenarios.ClaimsString(sc.Claims)+")", 100)))
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

// RunFinished prints, after more than one scenario, what held.
func (p *Text) RunFinished(j *scenarios.Journal) {
	if len(j.Scenarios) < 2 {
		return
	}
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

func renderTable(t scenarios.Table) string {
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

// Prompter is the instructor at a terminal in step mode: before each step
// it asks, through a Text, whether to run it, and reads the answer from In.
type Prompter struct {
	Text *Text
	In   *bufio.Reader
}

var _ scenarios.Pacer = (*Prompter)(nil)

// Before asks before a step: Enter runs it, r restarts the scenario, s
// skips it, q quits. The end of the input quits: nobody is there to press
// Enter.
func (pr *Prompter) Before(_ context.Context, _ *scenarios.Scenario, n, total int) scenarios.Decision {
	for {
		pr.Text.prompt(fmt.Sprintf("press Enter to run step %d/%d (r: restart this scenario, s: skip it, q: quit) ", n, total))
		line, err := pr.In.ReadString('\n')
		line = strings.TrimSpace(strings.ToLower(line))
		if err != nil && line == "" {
			return scenarios.Quit
		}
		switch line {
		case "":
			return scenarios.Go
		case "q", "quit":
			return scenarios.Quit
		case "s", "skip":
			return scenarios.Skip
		case "r", "restart":
			return scenarios.Restart
		}
	}
}
