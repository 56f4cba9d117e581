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
	"statelab/internal/term"
	"statelab/scenarios"
)

// Text writes a run for a terminal or a file, as it goes, its lines at
// most width columns. By default it is concise: claims named, not quoted
// (lab list --claims quotes them), each narration printed once, details
// left out. Verbose prints everything.
type Text struct {
	scenarios.Base
	w       io.Writer
	color   bool
	verbose bool
	width   int // the widest a line may be, in columns

	mu      sync.Mutex
	ready   string   // the last lab-ready line, shown in the next title
	total   int      // scenarios in the run
	n, step int      // the scenario under way, and its step
	name    string   // the scenario under way
	verdict string   // its verdict probe, tabulated at its end when concise
	quiet   []string // steps told before, not printed yet (see flush)
	users   int      // per variant, in the scenario under way
	planned int      // per variant, in the plan
}

// NewText writes to w, with ANSI colours when color is set (never colour
// alone: every outcome has its word and mark), and everything when verbose.
func NewText(w io.Writer, color, verbose bool) *Text {
	return &Text{w: w, color: color, verbose: verbose, width: DefaultWidth}
}

// DefaultWidth is how wide Text's lines are unless SetWidth says otherwise.
const DefaultWidth = 100

// SetWidth makes lines at most n columns wide (at least 60): text wraps
// at word boundaries, and a table too wide for n is printed stacked.
func (p *Text) SetWidth(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.width = max(n, 60)
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

// emit prints text, line by line, in colour code, after the steps held
// back.
func (p *Text) emit(code, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
	p.write(code, text)
}

func (p *Text) write(code, text string) {
	for _, line := range strings.Split(text, "\n") {
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
	steps := wrap("", indent, strings.Join(p.quiet, " · "), p.width)
	p.quiet = nil
	p.write("", steps)
}

// header prints a table's header, in bold, wrapped to the width: headers
// may repeat.
func (p *Text) header(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flush()
	if runeLen(text) > p.width {
		label, rest := "", text
		if len(text) > len(indent) && strings.TrimSpace(text[:len(indent)]) != "" && text[len(indent)-1] == ' ' {
			label, rest = text[:len(indent)], text[len(indent):] // "verdict   ..." keeps its column
		}
		text = wrap(label, indent, rest, p.width)
	}
	p.raw("1", text)
}

// raw prints text line by line in colour code. The caller holds mu.
func (p *Text) raw(code, text string) { p.write(code, text) }

// RunStarted prints the plan, what "stateless" means here, and the words
// the run uses.
func (p *Text) RunStarted(_ string, plan scenarios.Plan, scs []*scenarios.Scenario) {
	p.total = len(scs)
	if len(plan.Users) > 0 {
		p.users, p.planned = len(plan.Users), len(plan.Users)
	}
	p.emit("", wrap("plan: ", indent, plan.Describe(), p.width))
	p.emit("", "")
	if !p.verbose {
		p.emit("", wrap("outcomes  ", indent, ShortLegend, p.width))
		return
	}
	p.WriteLegend()
}

// WriteLegend prints what "stateless" means here, the outcome words and
// the terms: lab run --legend, and the head of a verbose run.
func (p *Text) WriteLegend() {
	p.emit("", wrap("stateless ", indent, Definition, p.width))
	p.emit("", wrap("outcomes  ", indent, Legend, p.width))
	p.emit("", wrap("terms     ", indent, Terms, p.width))
}

// ShortLegend is the outcome words in a line or two, for a concise run.
const ShortLegend = `counts of users: ✓ kept · ✗ refused (401, nothing destroyed) · ✗ lost (log in again) · ✗ lost data · ` +
	`✗ duplicated · ✗ unavailable (5xx or none) · ✗ wrong user; for old or forged credentials ✓ refused is good, ` +
	`✗ accepted is bad (lab run --legend: every word)`

// Definition says what "stateless" means in the lab, and where the seed
// articles disagree.
const Definition = `An instance is stateless when it keeps nothing a user needs between requests: any instance can answer any of them. ` +
	`memory keeps the session in one process (stateful by any reading), jwt and cookie in the token or the signed, encrypted cookie the client sends (stateless by any reading, unless jwt's denylist is on), ` +
	`redis in a shared Redis: stateless for article 003 ("the service instance does not own the state"), stateful for article 004 (a server-side session store). ` +
	`The lab shows both: redis outlives every instance, and fails with its store. (000 to 004: the five articles whose claims the lab tests; the README lists them.)`

// Legend gives the outcome words, each with its mark.
const Legend = `✓ kept: served, same user and cart · ✗ refused: a 401, yet nothing destroyed: the session or token still exists, another instance or key would take it · ` +
	`✗ lost: the session is gone for good, log in again · ✗ lost data: part of the cart gone · ✗ duplicated: a write applied twice · ` +
	`✗ unavailable: a 5xx or no answer · ✗ wrong user: someone else's session (never acceptable; every probe checks). ` +
	`In replay and forgery probes ✓ refused is good, ✗ replay or forgery accepted is bad. Counts are users (each with its worst answer) unless they say requests.`

// Terms explains the other words the run prints.
const Terms = `probe: every user asks who it is (GET /me) · pool: a variant's instances behind the balancer (lb) · ` +
	`sticky routing (affinity): a cookie pins each user to one instance; re-pinned: moved to another · ` +
	`SIGKILL ends a process at once, SIGTERM lets its requests finish · 401: not logged in, 503: try later · ` +
	`detect: from ending an instance to the balancer marking it down · recover: the longest time from a fault until its users were served again ` +
	`("none failed"; "log in again": a session destroyed, its user not served since; "logged in again": served only after a new login; "still refused": not served at the end, nothing destroyed; "once fixed": served only after a step undid the fault) · ` +
	`expect: whether the scenario's prediction came true (holds or FAILS; inconclusive when this machine was too busy to tell), not whether the outcome is good (--verbose lists each).`

// Calibrated prints what the run measured of the machine and the timing
// it chose, in one paragraph.
func (p *Text) Calibrated(c scenarios.Calibration) {
	m := c.Measured
	if p.verbose || c.Off || c.Kept != "" || m.RedisN == 0 || m.WakeN == 0 {
		p.emit("2", wrap("timing    ", indent, c.Line, p.width))
		return
	}
	// The usual case in a sentence; --verbose and the journal say how.
	p.emit("2", wrap("timing    ", indent, fmt.Sprintf("at the 99th percentile Redis answered in %s and a goroutine woke %s late, so the instances wait %s for Redis and token-expiry's lifetimes are %s",
		scenarios.Millis(float64(m.RedisP99.Microseconds())/1000), scenarios.Millis(float64(m.WakeP99.Microseconds())/1000),
		scenarios.Seconds(c.Timing.StoreTimeout.Seconds()), scenarios.Seconds(c.Timing.Lifetime.Seconds())), p.width))
}

// LabReady keeps the line, to print under the next title when verbose.
func (p *Text) LabReady(note string) {
	if p.verbose {
		p.ready = note
	}
}

// ScenarioStarted prints the title and the claims the scenario tests:
// named, or quoted when verbose.
func (p *Text) ScenarioStarted(sc *scenarios.Scenario, n, total int, users map[statelab.Variant][]string) {
	p.n, p.step, p.total, p.name, p.verdict = n, 0, total, sc.Name, sc.Verdict
	p.users = len(users[statelab.Variants[0]])
	p.emit("", "")
	head := sc.Name + "  (" + sc.Setup + ")"
	if total > 1 {
		head = fmt.Sprintf("%s  [%d/%d]", head, n, total)
	}
	p.emit("1", wrap("", indent, head, p.width))
	if p.ready != "" {
		p.emit("2", indent+p.ready)
		p.ready = ""
	}
	if p.planned > 0 && p.users != p.planned {
		p.emit("2", fmt.Sprintf("users     %d per variant in this scenario, the first %d of the plan", p.users, p.users))
	}
	if p.concise() {
		return // the lesson names the claims; lab list --claims quotes them
	}
	label := "claim     "
	for _, c := range sc.Claims {
		p.emit("2", wrap(label, indent+"  ", c.String()+": "+c.Text, p.width))
		label = indent
	}
}

// StepStarted prints the step's title, and when verbose its narration.
// A concise run holds back a step whose narration was told before, to
// share a line with the next such step.
func (p *Text) StepStarted(sc *scenarios.Scenario, n int, st scenarios.Step) {
	p.mu.Lock()
	p.step = n
	id := fmt.Sprintf("step %d/%d", n, len(sc.Steps))
	if p.total > 1 {
		id = p.label()
	}
	if p.concise() {
		// The title, held back to share a line with the next steps,
		// until one of them says something.
		p.quiet = append(p.quiet, id+" "+st.Title)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	label := fmt.Sprintf("%-8s", id) + "  "
	if p.verbose || st.Why == "" {
		p.emit("", p.paint("1;36", label)+strings.TrimPrefix(wrap(label, indent, st.Title, p.width), label))
		if st.Why != "" {
			p.emit("2", wrap(indent, indent, st.Why, p.width))
		}
		return
	}
	// The title and its narration in one paragraph.
	text := wrap(label, indent, st.Title+" — "+st.Why, p.width)
	p.emit("", p.paint("1;36", label)+strings.TrimPrefix(text, label))
}

// Noted prints a note under the step.
// Notes may carry words from elsewhere (a backend's answer, an error):
// none may drive the terminal.
func (p *Text) Noted(s string) { p.emit("", wrap(indent, indent+"  ", term.Clean(s), p.width)) }

// Asided prints a note unless the run is concise: the verdict table or
// the lesson gives it too.
func (p *Text) Asided(s string) {
	if !p.concise() {
		p.Noted(s)
	}
}

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
// A concise run holds back the verdict probe: the scenario ends with its
// table.
func (p *Text) Probed(v *scenarios.Verdict) {
	if p.concise() && v.Name == p.verdict {
		return
	}
	words := verdictWords(func(va statelab.Variant) (scenarios.Tally, bool) {
		t, ok := v.Tallies[va]
		if !ok {
			return scenarios.Tally{}, false
		}
		return *t, true
	})
	p.emit("", wrap(indent, indent+"  ", v.Name+": "+words, p.width))
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

// runeLen is how many columns s takes (one per rune; the lab prints no
// wide characters).
func runeLen(s string) int { return len([]rune(s)) }

// concise says whether a step's narration and a scenario's claims are
// left out: in a run of several scenarios, unless verbose. A single
// scenario is told whole.
func (p *Text) concise() bool { return !p.verbose && p.total > 1 }
