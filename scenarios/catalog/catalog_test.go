package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"statelab"

	"statelab/internal/child"
	"statelab/internal/labtest"
	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

func tally(t *testing.T, j *scenarios.Journal, name, variant string) scenarios.Tally {
	t.Helper()
	for _, s := range j.Scenarios {
		if s.Name == name {
			return s.Variants[variant]
		}
	}
	t.Fatalf("no scenario %s in the journal", name)
	return scenarios.Tally{}
}

// TestCatalogue runs every scenario of the catalogue on a lab inside this
// process, checks every expectation from the JSON journal, and the figures
// the catalogue promises. It starts no child process.
func TestCatalogue(t *testing.T) {
	rt, err := inproc.Start(context.Background(), inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	before := child.Children(os.Getpid())
	// What a student reads of the same run, at 80 and at 100 columns.
	var at80, at100 bytes.Buffer
	narrow, wide := report.NewText(&at80, false, false), report.NewText(&at100, false, false)
	narrow.SetWidth(80)
	wide.SetWidth(100)
	j := labtest.ScenariosSeen(t, rt, 30, []scenarios.Observer{narrow, wide}, "all")
	// A scenario that needs what this runtime cannot do is skipped, saying
	// which capability it lacks; every other one runs to its end.
	ran := 0
	for _, s := range j.Scenarios {
		switch {
		case !s.Skipped:
			ran++
		case !strings.Contains(s.SkipReason, "cannot "):
			t.Errorf("%s skipped without naming what the runtime cannot do: %q", s.Name, s.SkipReason)
		}
	}
	if ran < len(j.Scenarios)-1 {
		t.Errorf("%d of %d scenarios ran; only redis-failover may be skipped in this process", ran, len(j.Scenarios))
	}
	checkText(t, at80.String(), 80, ran)
	checkText(t, at100.String(), 100, ran)
	if got, want := len(j.Scenarios), len(catalog.All()); got != want {
		t.Fatalf("%d scenarios in the journal, want %d", got, want)
	}
	if after := child.Children(os.Getpid()); len(after) > len(before) {
		t.Errorf("the in-process lab started processes: %v", after)
	}
	kept := scenarios.Kept
	for _, v := range []string{"redis", "jwt"} {
		for _, name := range []string{"round-robin", "sticky", "kill-instance", "rolling-restart", "scale-out", "switch-routing"} {
			if got := tally(t, j, name, v); got.Of(kept) != 30 || got.Users != 30 {
				t.Errorf("%s %s: %+v, want 30 of 30 kept", name, v, got)
			}
		}
	}
	if k := tally(t, j, "kill-instance", "memory"); k.Of(scenarios.Lost) < 5 || k.Of(scenarios.Lost) > 15 || k.Of(kept)+k.Of(scenarios.Lost) != 30 {
		t.Errorf("kill-instance memory: %+v, want about a third lost, the rest kept", k)
	}
	if k := tally(t, j, "kill-instance", "memory"); k.Recover != scenarios.LogInAgain || k.DetectSeconds == nil {
		t.Errorf("kill-instance memory: recover %q, detect %v; want %q and a detection time", k.Recover, k.DetectSeconds, scenarios.LogInAgain)
	}
	if k := tally(t, j, "kill-instance", "jwt"); k.Recover != scenarios.NoneFailed {
		t.Errorf("kill-instance jwt: recover %q, want %q", k.Recover, scenarios.NoneFailed)
	}
	if rr := tally(t, j, "rolling-restart", "memory"); rr.Of(scenarios.Lost) != 30 {
		t.Errorf("rolling-restart memory: %+v, want every user lost", rr)
	}
	if rr := tally(t, j, "round-robin", "memory"); rr.Of(scenarios.Lost) != 0 || rr.Of(scenarios.Refused) == 0 || rr.Recover != "" {
		t.Errorf("round-robin memory: %+v, want users refused, none lost, and no recovery (nothing failed)", rr)
	}
	if rd := tally(t, j, "redis-down", "redis"); rd.Of(scenarios.Unavailable) != 30 {
		t.Errorf("redis-down redis (failing closed): %+v, want 30 unavailable", rd)
	}
	if lr := tally(t, j, "logout-replay", "jwt"); lr.Of(scenarios.ReplayAccepted) != 30 || lr.Good() != 0 {
		t.Errorf("logout-replay jwt: %+v, want every old token accepted, and that judged bad", lr)
	}
	if lr := tally(t, j, "logout-replay", "memory"); lr.Of(scenarios.Refused) != 30 || lr.Good() != 30 {
		t.Errorf("logout-replay memory: %+v, want every old cookie refused, and that judged good", lr)
	}
	if cd := tally(t, j, "config-drift", "redis"); cd.Of(scenarios.Lost) != 0 || cd.Of(scenarios.Refused) == 0 {
		t.Errorf("config-drift redis: %+v, want refused, never lost", cd)
	}
	if c := tally(t, j, "kill-instance", "cookie"); c.Of(scenarios.Kept) != 30 {
		t.Errorf("kill-instance cookie: %+v, want every user kept", c)
	}
	if c := tally(t, j, "cost", "cookie"); c.Of(scenarios.LostData) != 10 {
		t.Errorf("cost cookie: %+v, want every user's overflowing items lost", c)
	}
	if lr := tally(t, j, "logout-replay", "cookie"); lr.Of(scenarios.ReplayAccepted) != 30 {
		t.Errorf("logout-replay cookie: %+v, want every old cookie accepted", lr)
	}
	checkLessons(t, j)
	if n := len(j.Summary); n < len(statelab.Variants)*len(j.Scenarios) {
		t.Errorf("%d summary rows for %d scenarios, want one per scenario, probe and variant", n, len(j.Scenarios))
	}
	for _, s := range j.Scenarios {
		if s.Skipped {
			continue
		}
		if s.Name == "cost" && (len(s.Tables) != 1 || len(s.Tables[0].Rows) != len(statelab.Variants)) {
			t.Errorf("cost: tables %+v, want one with a row per variant", s.Tables)
		}
		if len(s.Requests) == 0 || len(s.Steps) != len(mustFind(t, s.Name).Steps) || s.Lesson == "" || s.Verdict == "" {
			t.Errorf("%s: %d requests, %d steps, verdict %q, lesson %q: the journal is incomplete", s.Name, len(s.Requests), len(s.Steps), s.Verdict, s.Lesson)
		}
	}
}

// checkText reads lab run all's text as a student would get it at width
// columns: no line wider; at most 28 lines a scenario on average; the last
// lines (13 more than there are scenarios: one screen for the catalogue of
// 17 it was written for) a grid naming the four variants with a row per
// scenario, after each scenario its own verdict table; no latency printed
// as "0.0 ms".
func checkText(t *testing.T, text string, width, scenarioCount int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > width {
			t.Errorf("width %d: a line of %d columns: %q", width, n, l)
		}
	}
	if strings.Contains(text, "0.0 ms") {
		t.Errorf("width %d: a latency printed as 0.0 ms", width)
	}
	if got := strings.Count(text, "\nverdict   "); got != scenarioCount {
		t.Errorf("width %d: %d verdict tables for %d scenarios", width, got, scenarioCount)
	}
	if width >= 100 && len(lines) > 28*scenarioCount {
		t.Errorf("width %d: %d lines for %d scenarios, more than 28 a scenario", width, len(lines), scenarioCount)
	}
	last := lines[max(len(lines)-(len(catalog.All())+13), 0):]
	header := -1
	for i, l := range last {
		if f := strings.Fields(l); len(f) == 5 && f[0] == "scenario" && strings.Join(f[1:], " ") == strings.Join(statelab.VariantNames(), " ") {
			header = i
		}
	}
	if header < 0 {
		t.Fatalf("width %d: no grid header naming the variants in the last %d lines:\n%s", width, len(last), strings.Join(last, "\n"))
	}
	for _, sc := range catalog.All() {
		found := false
		for _, l := range last[header+1:] {
			found = found || strings.TrimSuffix(strings.Fields(l + " x")[0], "*") == sc.Name
		}
		if !found {
			t.Errorf("width %d: the grid has no row for %s:\n%s", width, sc.Name, strings.Join(last, "\n"))
		}
	}
}

// TestVerdictNamed: every scenario names its main probe, which the
// questions of lab run --predict ask about.
func TestVerdictNamed(t *testing.T) {
	for _, sc := range catalog.All() {
		if sc.Verdict == "" {
			t.Errorf("%s names no verdict probe", sc.Name)
		}
	}
}

func mustFind(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	scs, err := catalog.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return scs[0]
}

func TestFind(t *testing.T) {
	if _, err := catalog.Find("nope"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown scenario: %v", err)
	}
	all, err := catalog.Find("all")
	if err != nil || len(all) != len(catalog.All()) {
		t.Errorf("all: %d, %v", len(all), err)
	}
	if two, err := catalog.Find("sticky", "round-robin"); err != nil || len(two) != 2 || two[0].Name != "sticky" {
		t.Errorf("two names: %v, %v; want them in the order named", two, err)
	}
	if _, err := catalog.Find(); err == nil {
		t.Error("no name: want an error")
	}
}

// TestScenariosAreComplete: every scenario has what the reports print.
func TestScenariosAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range catalog.All() {
		if seen[s.Name] {
			t.Errorf("scenario %s twice", s.Name)
		}
		seen[s.Name] = true
		if s.Summary == "" || s.Setup == "" || len(s.Claims) == 0 || len(s.Steps) == 0 || len(s.Expectations()) == 0 || s.Lesson == nil {
			t.Errorf("%s lacks a summary, setup, claim, step, expectation or lesson", s.Name)
		}
		for _, st := range s.Steps {
			if st.Title == "" || st.Why == "" || st.Run == nil {
				t.Errorf("%s: step %q lacks a title, narration or action", s.Name, st.Title)
			}
		}
	}
}

// numberRE finds the numbers a reader sees in a text: not the digits of
// a name (memory-2, user001, HS256).
var numberRE = regexp.MustCompile(`(?:^|[^\w.-])(\d+(?:\.\d+)?)(?:$|[^\w])`)

// journalNumbers collects every number of a scenario's report, as the
// journal holds it (in figures and in the words of its notes and
// expectations), leaving out the lesson itself and the raw requests.
func journalNumbers(t *testing.T, rep *scenarios.ScenarioReport) (floats []float64, words map[string]bool) {
	t.Helper()
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "lesson")
	delete(m, "requests")
	delete(m, "events")
	words = map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case float64:
			floats = append(floats, x)
		case string:
			for _, sub := range numberRE.FindAllStringSubmatch(x, -1) {
				words[sub[1]] = true
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(m)
	return floats, words
}

// checkLessons: every number a lesson states is in the journal, at the
// precision the lesson gives it.
func checkLessons(t *testing.T, j *scenarios.Journal) {
	t.Helper()
	for _, rep := range j.Scenarios {
		if rep.Skipped {
			continue
		}
		if rep.Lesson == "" {
			t.Errorf("%s: no lesson", rep.Name)
			continue
		}
		floats, words := journalNumbers(t, rep)
		for _, sub := range numberRE.FindAllStringSubmatch(rep.Lesson, -1) {
			n := sub[1]
			if words[n] {
				continue
			}
			decimals := 0
			if _, frac, ok := strings.Cut(n, "."); ok {
				decimals = len(frac)
			}
			found := false
			for _, f := range floats {
				if strconv.FormatFloat(f, 'f', decimals, 64) == n {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: the lesson states %s, which the journal does not hold:\n%s", rep.Name, n, rep.Lesson)
			}
		}
	}
}

// TestRecordedLessons: the recorded run's lessons state only numbers its
// journal holds, redis-failover's among them, which the in-process lab of
// TestCatalogue cannot run.
func TestRecordedLessons(t *testing.T) {
	j, err := scenarios.LoadJournal("../../examples/journals/run-all.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range j.Scenarios {
		found = found || (s.Name == "redis-failover" && !s.Skipped && s.Lesson != "")
	}
	if !found {
		t.Fatal("the recorded run has no lesson of redis-failover")
	}
	checkLessons(t, j)
}
