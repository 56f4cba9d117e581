package report

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"statelab"
	"statelab/lb/api"
	"statelab/scenarios"
)

// WriteHTML writes a run as one self-contained page (no script, font or
// image from anywhere else) that a student can open later, print, or
// read on a phone: the scenario × variant grid at the top, then per
// scenario a timeline of every answer per instance (coloured by outcome,
// with the kills, the balancer's downs and ups and the policy switches on
// it), the verdict, the expectations and the lesson. Everything on it is
// the journal's: a replay writes the same page as the run did.
func WriteHTML(w io.Writer, j *scenarios.Journal) error {
	return htmlPage.Execute(w, htmlRun(j))
}

//go:embed report.html.tmpl
var htmlTemplate string

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"px":         func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"sub1":       func(f float64) float64 { return f - 20 }, // the axis, above the seconds
	"rowsHeight": func(n int) string { return fmt.Sprintf("%.1f", float64(n)*rowHeight) },
}).Parse(htmlTemplate))

// The page's data.
type (
	hRun struct {
		Title, When, Runtime, Host, Status, StatusClass string
		Timing                                          string
		Definition, Legend, Terms                       string
		Grid                                            hTable
		Scenarios                                       []hScenario
		Cut                                             bool // the journal kept only part of the run's output
	}
	hTable struct {
		Head []string
		Rows [][]hCell
	}
	hCell     struct{ Text, Class string }
	hScenario struct {
		ID, Name, Title, Summary, Setup string
		Claims                          []scenarios.Claim
		Chart                           *hChart
		Steps                           []hStep
		Verdict                         hTable
		VerdictName                     string
		Tables                          []hNamedTable
		Expectations                    []hExpect
		Status, StatusClass             string
		Lesson                          string
		ClaimRefs                       string
	}
	hNamedTable struct {
		Title string
		hTable
	}
	hStep struct {
		N            int
		Title, Why   string
		Notes        []string
		Seconds      string
		ChartX       float64
		ChartVisible bool
	}
	hExpect struct{ Word, Class, Variant, Text, Observed string }
	hChart  struct {
		Width, Height, Left, Top, Plot float64
		Seconds                        string
		Rows                           []hRow
		Ticks                          []hTick
		Steps                          []hTick
		Marks                          []hMark
		Flags                          []hFlag
		Lines                          []hLine
		None                           bool // a row of answers no instance gave
		dur                            float64
	}
	hRow struct {
		Y, Band       float64
		Label, Colour string
		Shade, First  bool // First: the variant's first row, where its colour bar starts
		Rows          int  // on the first row: how many rows the variant has
	}
	hTick struct {
		X, Y  float64
		Label string
	}
	hMark struct {
		X, Y  float64
		Class string
		Probe bool
	}
	hFlag struct {
		X, Y        float64
		Glyph, Kind string
		Title       string
	}
	hLine struct {
		X, Y        float64
		Label, Kind string
		End         bool // the label ends at the line (near the right edge)
	}
)

func htmlRun(j *scenarios.Journal) hRun {
	r := hRun{
		Title:      "statelab: " + scenarioCount(len(j.Scenarios)) + ", " + j.Started.UTC().Format("2006-01-02 15:04 UTC"),
		When:       j.Started.UTC().Format("2006-01-02 15:04 UTC"),
		Runtime:    j.Runtime,
		Host:       j.Host,
		Definition: Definition, Legend: Legend, Terms: Terms,
		Cut: j.OutputVersion == scenarios.OutputVersion && !j.OutputWhole && len(j.Output) > 0,
	}
	r.Status, r.StatusClass = "every expectation holds", "good"
	switch {
	case j.Failed > 0 || (!j.OK && j.Inconclusive == 0):
		r.Status, r.StatusClass = "some expectations FAIL", "bad"
	case j.Inconclusive > 0:
		r.Status, r.StatusClass = fmt.Sprintf("no expectation fails; %s inconclusive: this machine was too busy to judge", scenarioCount(j.Inconclusive)), "warn"
	}
	if c := j.Calibration; c != nil {
		r.Timing = strings.TrimSuffix(c.Line, ".")
	}
	g := grid(j)
	r.Grid.Head = g.Columns
	for i, row := range g.Rows {
		cells := []hCell{{Text: row[0]}}
		for _, c := range row[1:] {
			cells = append(cells, hCell{Text: c, Class: markClass(c)})
		}
		if i < len(j.Scenarios) {
			cells[0].Class = "name"
		}
		r.Grid.Rows = append(r.Grid.Rows, cells)
	}
	told := outputOf(j)
	for i, s := range j.Scenarios {
		if s == nil {
			continue
		}
		r.Scenarios = append(r.Scenarios, htmlScenario(i, s, told[i]))
	}
	return r
}

// stepGap is the least distance, in the chart's units, between two step
// numbers on one row.
const stepGap = 14

// markClass colours a cell by its mark: ✓ good, ✗ bad.
func markClass(s string) string {
	switch {
	case strings.HasPrefix(s, "✓"):
		return "good"
	case strings.HasPrefix(s, "✗"):
		return "bad"
	}
	return ""
}

// told is what the output says of one scenario: when each step began and
// each reading came, in seconds from the scenario's start.
type told struct {
	steps    map[int]float64
	readings []toldReading
}

type toldReading struct {
	t float64
	r scenarios.Reading
}

// outputOf splits the journal's output by scenario, in the order of the
// reports (a scenario started over by the instructor counts once: its
// last attempt, which is the one reported).
func outputOf(j *scenarios.Journal) []told {
	out := make([]told, len(j.Scenarios))
	next := 0
	var cur *told
	var began float64
	for _, e := range j.Output {
		switch e.Kind {
		case scenarios.OutScenario:
			if e.Scenario == nil {
				continue
			}
			for k := next; k < len(j.Scenarios); k++ {
				if j.Scenarios[k] != nil && j.Scenarios[k].Name == e.Scenario.Name {
					out[k] = told{steps: map[int]float64{}}
					cur, began = &out[k], e.T
					break
				}
			}
		case scenarios.OutStep:
			if cur != nil {
				cur.steps[e.N] = e.T - began
			}
		case scenarios.OutInstances:
			if cur != nil && e.Reading != nil {
				cur.readings = append(cur.readings, toldReading{e.T - began, *e.Reading})
			}
		case scenarios.OutFinished:
			for k := next; k < len(j.Scenarios); k++ {
				if j.Scenarios[k] != nil && j.Scenarios[k].Name == e.Name {
					next = k + 1
					break
				}
			}
			cur = nil
		}
	}
	return out
}

func htmlScenario(i int, s *scenarios.ScenarioReport, tl told) hScenario {
	h := hScenario{ID: fmt.Sprintf("s%d-%s", i+1, s.Name), Name: s.Name, Title: s.Title, Summary: s.Summary, Claims: s.Claims, Lesson: s.Lesson, VerdictName: s.Verdict}
	if len(s.Claims) > 0 {
		h.ClaimRefs = scenarios.ClaimsString(s.Claims)
	}
	h.Chart = chart(s, tl)
	at := 0.0
	for n, st := range s.Steps {
		step := hStep{N: n + 1, Title: st.Title, Why: st.Why, Notes: st.Notes, Seconds: scenarios.Seconds(st.Seconds)}
		if t, ok := tl.steps[n+1]; ok {
			at = t
		}
		if h.Chart != nil {
			step.ChartX, step.ChartVisible = h.Chart.x(at), true
		}
		h.Steps = append(h.Steps, step)
		at += st.Seconds
	}
	if len(s.Variants) > 0 {
		t := verdictTable(s.Variants)
		h.Verdict.Head = t.Columns
		for _, row := range t.Rows {
			cells := []hCell{{Text: row[0], Class: markClass(row[0])}}
			for _, c := range row[1:] {
				cells = append(cells, hCell{Text: c})
			}
			h.Verdict.Rows = append(h.Verdict.Rows, cells)
		}
	}
	for _, t := range s.Tables {
		nt := hNamedTable{Title: t.Title}
		nt.Head = t.Columns
		for _, row := range t.Rows {
			var cells []hCell
			for _, c := range row {
				cells = append(cells, hCell{Text: c})
			}
			nt.Rows = append(nt.Rows, cells)
		}
		h.Tables = append(h.Tables, nt)
	}
	for _, e := range s.Expectations {
		word, _ := ExpectWord(e)
		class := map[string]string{"holds": "good", "FAILS": "bad"}[word]
		if class == "" {
			class = "warn"
		}
		h.Expectations = append(h.Expectations, hExpect{Word: word, Class: class, Variant: e.Variant, Text: e.Text, Observed: e.Observed})
	}
	switch {
	case s.Skipped:
		h.Status, h.StatusClass = capitalize(s.SkippedHow())+".", "warn"
	case s.Stopped:
		h.Status, h.StatusClass = "Stopped by the instructor.", "warn"
	case s.Inconclusive:
		h.Status, h.StatusClass = s.Busy, "warn"
		if s.Error != "" {
			h.Status = "Did not run to its end: " + s.Error + ". " + s.Busy
		}
	case s.Error != "":
		h.Status, h.StatusClass = "Failed: "+s.Error, "bad"
	case s.OK:
		h.Status, h.StatusClass = ended(s), "good"
	default:
		h.Status, h.StatusClass = ended(s), "bad"
	}
	if s.Lesson == "" && s.Inconclusive {
		h.Lesson = "None from this run: the machine disturbed what it measures."
	}
	return h
}

// The chart's geometry, in the SVG's own units (it scales to the page).
const (
	chartWidth = 960.0
	chartLeft  = 92.0
	chartRight = 12.0
	chartTop   = 58.0
	rowHeight  = 15.0
)

func (c *hChart) x(t float64) float64 {
	return c.Left + c.Plot*math.Min(math.Max(0, t), c.dur)/c.dur
}

// noAnswer is the row of a variant's requests no instance answered.
const noAnswer = "no instance"

// chart draws a scenario's answers per instance over time, or nil when
// there is nothing to draw.
func chart(s *scenarios.ScenarioReport, tl told) *hChart {
	if len(s.Requests) == 0 {
		return nil
	}
	dur := s.Seconds
	for _, rq := range s.Requests {
		dur = math.Max(dur, rq.T)
	}
	dur = math.Max(dur, 0.1)
	c := &hChart{Width: chartWidth, Left: chartLeft, Top: chartTop, Plot: chartWidth - chartLeft - chartRight, Seconds: scenarios.Seconds(dur), dur: dur}
	// The rows: each variant's instances, in the order first seen in a
	// reading or an answer, then its row of answers no instance gave.
	rows := map[string]int{}
	order := map[statelab.Variant][]string{}
	add := func(v statelab.Variant, name string) {
		key := string(v) + "/" + name
		if _, ok := rows[key]; ok || !slices.Contains(statelab.Variants, v) {
			return
		}
		rows[key] = -1
		order[v] = append(order[v], name)
	}
	for _, r := range tl.readings {
		for _, in := range r.r.Instances {
			add(statelab.Variant(in.Variant), in.Name)
		}
	}
	failedSomewhere := map[statelab.Variant]bool{}
	for _, rq := range s.Requests {
		if rq.Instance != "" {
			add(statelab.Variant(rq.Variant), rq.Instance)
		} else {
			failedSomewhere[statelab.Variant(rq.Variant)] = true
		}
	}
	y := chartTop
	for vi, v := range statelab.Variants {
		names := order[v]
		slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(a, b) })
		if failedSomewhere[v] {
			names = append(names, noAnswer)
		}
		for i, name := range names {
			rows[string(v)+"/"+name] = len(c.Rows)
			label := name
			if name == noAnswer {
				label = string(v) + ": none"
			}
			row := hRow{Y: y + rowHeight/2, Band: y, Label: label, Colour: v.Describe().Colour, Shade: vi%2 == 1}
			if i == 0 {
				row.First, row.Rows = true, len(names)
			}
			c.Rows = append(c.Rows, row)
			y += rowHeight
		}
		y += 4
	}
	c.Height = y + 26
	rowY := func(v, name string) (float64, bool) {
		i, ok := rows[v+"/"+name]
		if !ok || i < 0 {
			return 0, false
		}
		return c.Rows[i].Y, true
	}
	for _, rq := range s.Requests {
		name := rq.Instance
		if name == "" {
			name = noAnswer
		}
		ry, ok := rowY(rq.Variant, name)
		if !ok {
			continue
		}
		c.Marks = append(c.Marks, hMark{X: c.x(rq.T), Y: ry, Class: answerClass(rq), Probe: rq.Outcome != ""})
		c.None = c.None || name == noAnswer
	}
	// Seconds along the bottom.
	step := tickStep(dur)
	for t := 0.0; t <= dur+1e-9; t += step {
		label := scenarios.Seconds(t)
		if t == 0 {
			label = "0"
		}
		if c.x(t) > c.Width-30 {
			break // the last would run off the right edge
		}
		c.Ticks = append(c.Ticks, hTick{X: c.x(t), Label: label})
	}
	// The steps' numbers, on two rows where they would overlap; a step
	// too close to both rows' last is named with the last of the second
	// ("4,5").
	lastX := [2]float64{-100, -100}
	last := [2]int{-1, -1} // index in c.Steps of each row's last number
	for n := 1; n <= len(s.Steps); n++ {
		if t, ok := tl.steps[n]; ok {
			x := c.x(t)
			row := 0
			switch {
			case x-lastX[0] >= stepGap:
			case x-lastX[1] >= stepGap:
				row = 1
			default:
				c.Steps[last[1]].Label += "," + fmt.Sprint(n)
				lastX[1] = x + 6*float64(len(c.Steps[last[1]].Label)-1)
				continue
			}
			lastX[row] = x
			last[row] = len(c.Steps)
			c.Steps = append(c.Steps, hTick{X: x, Y: 12 + 11*float64(row), Label: fmt.Sprint(n)})
		}
	}
	// What the scenario did to the instances, as its readings told it
	// the moment it did (a kill is down before the balancer notices).
	for _, r := range tl.readings {
		if r.r.Whole {
			continue
		}
		for _, in := range r.r.Instances {
			if in.Variant == scenarios.StoreRow {
				c.Lines = append(c.Lines, hLine{X: c.x(r.t), Label: "Redis " + in.State, Kind: "store"})
				continue
			}
			ry, ok := rowY(in.Variant, in.Name)
			if !ok || !strings.Contains(in.Why, "by the scenario") {
				continue
			}
			f := hFlag{X: c.x(r.t), Y: ry, Glyph: "✕", Kind: "fault", Title: fmt.Sprintf("%s %s, at %s", in.Name, in.Why, scenarios.Seconds(r.t))}
			switch {
			case in.State == scenarios.Removed:
				f.Glyph = "⊘"
			case strings.Contains(in.Why, "SIGTERM"):
				f.Glyph, f.Kind = "↻", "restart" // stopped gracefully, to start again (new settings, a rolling restart)
			}
			c.Flags = append(c.Flags, f)
		}
	}
	// The balancer's events: downs, ups, policy switches.
	type switched struct {
		at     time.Time
		pools  []string
		policy string
	}
	var switches []*switched
	for _, ev := range s.Events {
		t := ev.Time.Sub(s.Started).Seconds()
		if s.Started.IsZero() || t < 0 || t > dur {
			continue
		}
		switch ev.Type {
		case api.EventDown, api.EventUp:
			ry, ok := rowY(ev.Pool, ev.Backend)
			if !ok {
				continue
			}
			f := hFlag{X: c.x(t), Y: ry, Glyph: "▼", Kind: "down", Title: fmt.Sprintf("the balancer marked %s down at %s (%s)", ev.Backend, scenarios.Seconds(t), ev.Reason)}
			if ev.Type == api.EventUp {
				f.Glyph, f.Kind, f.Title = "▲", "up", fmt.Sprintf("the balancer marked %s up at %s", ev.Backend, scenarios.Seconds(t))
			}
			c.Flags = append(c.Flags, f)
		case api.EventPolicy:
			label := string(ev.Policy)
			if ev.Strict {
				label += " (strict)"
			}
			if n := len(switches); n > 0 && switches[n-1].policy == label && ev.Time.Sub(switches[n-1].at) < 200*time.Millisecond {
				switches[n-1].pools = append(switches[n-1].pools, ev.Pool)
				continue // the pools switched together: one line
			}
			switches = append(switches, &switched{at: ev.Time, policy: label, pools: []string{ev.Pool}})
		}
	}
	for _, sw := range switches {
		label := "policy: " + sw.policy
		if len(sw.pools) < len(statelab.Variants) {
			label += " (" + strings.Join(sw.pools, ", ") + ")"
		}
		c.Lines = append(c.Lines, hLine{X: c.x(sw.at.Sub(s.Started).Seconds()), Label: label, Kind: "policy"})
	}
	// Their labels on two rows under the steps' numbers, where they
	// would overlap, each as wide as its words.
	slices.SortStableFunc(c.Lines, func(a, b hLine) int { return cmp.Compare(a.X, b.X) })
	end := [2]float64{-1000, -1000}
	for i := range c.Lines {
		row := 0
		if c.Lines[i].X < end[0] {
			row = 1
		}
		c.Lines[i].Y = 36 + 11*float64(row)
		width := 6*float64(len([]rune(c.Lines[i].Label))) + 8
		c.Lines[i].End = c.Lines[i].X+width > c.Width
		end[row] = c.Lines[i].X + width
	}
	return c
}

// answerClass colours an answer: a probe's by its outcome, another's by
// its status.
func answerClass(rq scenarios.Request) string {
	kind := scenarios.Session
	switch {
	case strings.HasSuffix(rq.Path, "(replayed)"):
		kind = scenarios.Replay
	case strings.HasSuffix(rq.Path, "(forged)"):
		kind = scenarios.Forgery
	}
	switch o := scenarios.Outcome(rq.Outcome); {
	case o == "":
	case o.Good(kind):
		return "good" // kept, or an old or forged credential refused
	case o == scenarios.Refused:
		return "refused"
	case o == scenarios.Lost || o == scenarios.LostData:
		return "lost"
	case o == scenarios.Unavailable:
		return "unavailable"
	default:
		return "accepted" // wrong user, duplicated, replay or forgery accepted
	}
	switch {
	case rq.Status >= 200 && rq.Status < 400:
		return "ok"
	case rq.Status == 0 || rq.Status >= 500:
		return "failed"
	}
	return "no"
}

// tickStep is a round number of seconds giving 4 to 10 ticks.
func tickStep(d float64) float64 {
	for _, s := range []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300} {
		if d/s <= 10 {
			return s
		}
	}
	return 600
}
