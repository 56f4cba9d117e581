// Package report presents a run: the narration, verdicts, lessons and
// summary as text for a terminal (Text), the journal as Markdown
// (WriteMarkdown), and a live page in a browser (Live). Text and Live are
// observers of the engine's run.
package report

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"statelab"
	"statelab/scenarios"
)

// Text writes a run for a terminal or a file, as it goes. By default it is
// concise: each claim quoted once, each narration printed once, details
// left out, and no line printed twice (a line that would repeat one
// carries its step's number instead of the indent). Verbose prints
// everything.
type Text struct {
	scenarios.Base
	w       io.Writer
	color   bool
	verbose bool

	mu       sync.Mutex
	seen     map[string]bool
	quoted   map[string]string // claim → the scenario that quoted it
	narrated map[string]bool
	ready    string   // the last lab-ready line, shown in the next title
	total    int      // scenarios in the run
	n, step  int      // the scenario under way, and its step
	name     string   // the scenario under way
	quiet    []string // steps told before, not printed yet (see flush)
	users    int
}

// NewText writes to w, with ANSI colours when color is set (never colour
// alone: every outcome has its word and mark), and everything when verbose.
func NewText(w io.Writer, color, verbose bool) *Text {
	return &Text{w: w, color: color, verbose: verbose, seen: map[string]bool{}, quoted: map[string]string{}, narrated: map[string]bool{}}
}

var _ scenarios.Observer = (*Text)(nil)

const indent = "          "

func (p *Text) paint(code, s string) string {
	if !p.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// label is the current step's number: "3.2" in a run of several scenarios,
// "2" in one.
func (p *Text) label() string {
	if p.total > 1 {
		return fmt.Sprintf("%d.%d", p.n, p.step)
	}
	return fmt.Sprint(p.step)
}

// emit prints text, line by line, in colour code. In concise mode a line
// already printed is marked: an indented one with the step's number in
// place of its indent, another with the scenario's name at its end; so no
// line repeats word for word.
func (p *Text) emit(code, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
	p.write(code, text)
}

func (p *Text) write(code, text string) {
	for _, line := range strings.Split(text, "\n") {
		if !p.verbose && line != "" && p.seen[line] {
			mark := p.label()
			switch {
			case strings.HasPrefix(line, indent) && len(mark) < len(indent)-1:
				line = fmt.Sprintf("%-*s", len(indent), mark) + line[len(indent):]
			case p.name != "":
				line += "  [" + p.name + "]"
			default:
				line = mark + " " + line
			}
		}
		p.seen[line] = true
		fmt.Fprintln(p.w, p.paint(code, line))
	}
}

// flush prints the steps held back, in one line: steps whose narration was
// told before and that have said nothing yet (the usual setup: sticky
// routing on, every user logged in). The caller holds mu.
func (p *Text) flush() {
	if len(p.quiet) == 0 {
		return
	}
	steps := strings.Join(p.quiet, " · ")
	p.quiet = nil
	p.write("", steps)
}

// header prints a table's header: headers may repeat.
func (p *Text) header(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
	fmt.Fprintln(p.w, p.paint("1", text))
}

// RunStarted prints the plan, what "stateless" means here, and the words
// the run uses.
func (p *Text) RunStarted(_ string, plan scenarios.Plan, scs []*scenarios.Scenario) {
	p.total = len(scs)
	if len(plan.Users) > 0 {
		p.users = len(plan.Users)
	}
	p.emit("", "plan: "+plan.Describe())
	p.emit("", "")
	p.emit("", wrap("stateless ", indent, Definition, 120))
	p.emit("", wrap("outcomes  ", indent, Legend, 120))
	p.emit("", wrap("terms     ", indent, Terms, 120))
}

// Definition says what "stateless" means in the lab, and where the seed
// articles disagree.
const Definition = `An instance is stateless when it keeps nothing a user needs between requests: any instance can answer any of them. ` +
	`memory keeps the session in one process (stateful by any reading), jwt in the token the client sends (stateless by any reading), ` +
	`redis in a shared Redis: stateless for 003 ("the service instance does not own the state"), stateful for 004 (a server-side session store). ` +
	`The lab shows both: redis outlives every instance, and fails with its store.`

// Legend gives the outcome words, each with its mark.
const Legend = `✓ kept: served, same user and cart · ✗ refused: a 401, the session still exists elsewhere · ` +
	`✗ lost: the session is gone, log in again · ✗ lost data: part of the cart gone · ✗ duplicated: a write applied twice · ` +
	`✗ unavailable: a 5xx or no answer · ✗ wrong user: someone else's session (never acceptable; every probe checks). ` +
	`In replay and forgery probes ✓ refused is good, ✗ replay or forgery accepted bad. Counts are users (each with its worst answer) unless they say requests.`

// Terms explains the other words the run prints.
const Terms = `probe: every user asks who it is (GET /me) · pinned: sent to one instance by the balancer's cookie; re-pinned: moved · ` +
	`detect: from ending an instance to the balancer marking it down · recover: from the first fault until every user is served again ` +
	`("none failed": no request failed; "log in again": a session lost, or a user still refused at the end).`

// LabReady keeps the line, to print under the next title when verbose.
func (p *Text) LabReady(note string) {
	if p.verbose {
		p.ready = note
	}
}

// ScenarioStarted prints the title and the claims, each claim quoted once
// per run.
func (p *Text) ScenarioStarted(sc *scenarios.Scenario, n, total int, users map[statelab.Variant][]string) {
	p.n, p.step, p.total, p.name = n, 0, total, sc.Name
	p.users = len(users[statelab.Memory])
	p.emit("", "")
	head := sc.Name + "  (" + sc.Setup + ")"
	if total > 1 {
		head = fmt.Sprintf("%s  [%d/%d]", head, n, total)
	}
	p.emit("1", head)
	if p.ready != "" {
		p.emit("2", indent+p.ready)
		p.ready = ""
	}
	var told []string
	label := "claim     "
	for _, c := range sc.Claims {
		if by, ok := p.quoted[c.String()]; ok && !p.verbose {
			told = append(told, c.String()+" (quoted under "+by+")")
			continue
		}
		p.quoted[c.String()] = sc.Name
		p.emit("2", wrap(label, indent+"  ", c.String()+": \""+c.Text+"\"", 120))
		label = indent
	}
	if len(told) > 0 {
		p.emit("2", wrap(label, indent+"  ", strings.Join(told, "; "), 110))
	}
}

// StepStarted prints the step's title and, once per run unless verbose,
// its narration.
func (p *Text) StepStarted(sc *scenarios.Scenario, n int, st scenarios.Step) {
	p.mu.Lock()
	p.step = n
	id := fmt.Sprintf("step %d/%d", n, len(sc.Steps))
	if p.total > 1 {
		id = p.label()
	}
	told := st.Why != "" && p.narrated[st.Why]
	if told && !p.verbose {
		// Told before: held back, to share a line with the next such step.
		if len(p.quiet) == 0 {
			id = fmt.Sprintf("%-8s", id)
		}
		p.quiet = append(p.quiet, p.paint("1;36", id)+"  "+st.Title)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	label := fmt.Sprintf("%-8s", id) + "  "
	if p.verbose || st.Why == "" {
		p.emit("", p.paint("1;36", label)+st.Title)
		if st.Why != "" {
			p.emit("2", wrap(indent, indent, st.Why, 120))
		}
	} else {
		// Concise: the title and its narration in one paragraph.
		text := wrap(label, indent, st.Title+" — "+st.Why, 120)
		p.emit("", p.paint("1;36", label)+strings.TrimPrefix(text, label))
	}
	p.narrated[st.Why] = true
}

// Noted prints a note under the step.
func (p *Text) Noted(s string) { p.emit("", wrap(indent, indent+"  ", s, 120)) }

// Detailed prints a detail, when verbose.
func (p *Text) Detailed(s string) {
	if p.verbose {
		p.Noted(s)
	}
}

// prompt asks the instructor, in step mode.
func (p *Text) prompt(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
	fmt.Fprint(p.w, p.paint("33", indent+s))
}

// answer ends a prompt's line with the answer given.
func (p *Text) answer(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

// Probed prints a probe's outcome, a variant after the other, in users.
func (p *Text) Probed(v *scenarios.Verdict) {
	words := verdictWords(func(va statelab.Variant) (scenarios.Tally, bool) {
		t, ok := v.Tallies[va]
		if !ok {
			return scenarios.Tally{}, false
		}
		return *t, true
	})
	p.emit("", wrap(indent, indent+"  ", v.Name+" (users): "+words, 120))
}

// verdictWords says each variant's tally: "memory ✗ 10 lost, ✓ 20 kept ·
// redis ✓ 30 kept · jwt ✓ 30 kept"; variants not probed are left out.
func verdictWords(tally func(statelab.Variant) (scenarios.Tally, bool)) string {
	var parts []string
	for _, va := range statelab.Variants {
		if t, ok := tally(va); ok && t.Users > 0 {
			parts = append(parts, string(va)+" "+t.Words())
		}
	}
	return strings.Join(parts, " · ")
}

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
		if st := rows[0].Status; st != "" {
			p.emit("33", fmt.Sprintf("%-16s %s", name, st))
			continue
		}
		probes := map[string][]string{}
		var probeOrder []string
		for _, r := range rows {
			if _, ok := probes[r.Probe]; !ok {
				probeOrder = append(probeOrder, r.Probe)
			}
			probes[r.Probe] = append(probes[r.Probe], r.Variant+" "+r.Words)
		}
		first := fmt.Sprintf("%-16s", name)
		for _, pr := range probeOrder {
			p.emit("", wrap(first+" ", indent+"       ", pr+": "+strings.Join(probes[pr], " · "), 120))
			first = fmt.Sprintf("%-16s", "")
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
	if !j.OK {
		status = "some expectations do not hold (✗ above)"
	}
	p.emit("", fmt.Sprintf("%d scenarios in %.1f s: %s; %d wrong users in the %d scenarios that checked", len(j.Scenarios), j.Seconds, status, wrong, held))
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
