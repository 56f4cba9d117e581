package report

import (
	"context"
	"fmt"
	"strings"

	"statelab"
	"statelab/scenarios"
)

// Prediction is one answer to "how many of the users will ...": all, some
// or none ("" when none was given).
type Prediction string

// The answers.
const (
	All  Prediction = "all"
	Some Prediction = "some"
	None Prediction = "none"
)

// Predictor asks the room, before each scenario's first step, one question
// per variant about the scenario's main verdict, reads the answers from In
// (a terminal, or a file of a class's collected answers), then hands the
// pause to Next (step mode), if any. Score says afterwards who was right.
type Predictor struct {
	Text *Text
	In   *Lines
	Echo bool
	// Users is how many users per variant a scenario has.
	Users func(sc *scenarios.Scenario) int
	Next  scenarios.Pacer

	asked map[string]map[statelab.Variant]Prediction
}

var _ scenarios.Pacer = (*Predictor)(nil)

// Question is what the room is asked of variant v in scenario sc.
func Question(sc *scenarios.Scenario, v statelab.Variant, users int) string {
	what := "keep their session and cart"
	if sc.VerdictKind == scenarios.Replay {
		what = "have their old credential refused"
	}
	return fmt.Sprintf("%s: at “%s”, how many of the %d %s users will %s? (all, some, none) ", v, verdictName(sc), users, v, what)
}

func verdictName(sc *scenarios.Scenario) string {
	if sc.Verdict != "" {
		return sc.Verdict
	}
	return "the last probe"
}

// Pause asks the questions at the first pause of a scenario, then passes
// every pause on.
func (pr *Predictor) Pause(ctx context.Context, p scenarios.Pause) scenarios.Decision {
	if pr.asked == nil {
		pr.asked = map[string]map[statelab.Variant]Prediction{}
	}
	if _, done := pr.asked[p.Scenario.Name]; !done && !p.Verdict && p.Step == 1 {
		answers := map[statelab.Variant]Prediction{}
		pr.Text.Noted("predict   before it runs: what will happen? (the verdict scores each answer)")
		for _, v := range statelab.Variants {
			answers[v] = pr.ask(ctx, Question(p.Scenario, v, pr.Users(p.Scenario)))
			if ctx.Err() != nil {
				return scenarios.Quit // Ctrl-C: stop now, ask nothing more
			}
		}
		pr.asked[p.Scenario.Name] = answers
	}
	if pr.Next == nil {
		return scenarios.Go
	}
	return pr.Next.Pause(ctx, p)
}

// ask reads one answer: all, some or none (or a, s, n); anything else is
// asked again, and the end of the input leaves the question unanswered.
func (pr *Predictor) ask(ctx context.Context, q string) Prediction {
	for {
		pr.Text.prompt(q)
		line, err := pr.In.Read(ctx)
		if ctx.Err() != nil {
			pr.Text.answer("")
			return ""
		}
		if pr.Echo {
			pr.Text.answer(line)
		}
		switch strings.TrimSpace(strings.ToLower(line)) {
		case "all", "a":
			return All
		case "some", "s":
			return Some
		case "none", "n":
			return None
		}
		if err != nil {
			if !pr.Echo {
				pr.Text.answer("")
			}
			return ""
		}
	}
}

// Actual is what happened, in the words of a prediction: all, some or
// none of the users had the good outcome at the verdict.
func Actual(t scenarios.Tally) Prediction {
	switch good := t.Good(); {
	case t.Users > 0 && good == t.Users:
		return All
	case good == 0:
		return None
	}
	return Some
}

// Score prints, for each scenario the room predicted, each answer beside
// what happened, and how many were right. It returns right and asked.
func (pr *Predictor) Score(j *scenarios.Journal) (right, asked int) {
	for _, rep := range j.Scenarios {
		answers, ok := pr.asked[rep.Name]
		if !ok || rep.Error != "" {
			continue
		}
		n, of := 0, 0
		var lines []string
		for _, v := range statelab.Variants {
			t, ok := rep.Variants[string(v)]
			if !ok {
				continue
			}
			got := Actual(t)
			said := answers[v]
			mark := "✗"
			if said == got {
				mark = "✓"
				n++
			}
			if said == "" {
				said, mark = "nothing", "–"
			} else {
				of++
			}
			lines = append(lines, fmt.Sprintf("%-7s you said %s; %d of %d users %s: %s %s", v, said, t.Good(), t.Users, goodWord(t.Kind), got, mark))
		}
		pr.Text.emit("1", fmt.Sprintf("predicted %s, at “%s”: %d of %d answers right (the lesson above says why)", rep.Name, rep.Verdict, n, of))
		for _, l := range lines {
			pr.Text.emit("", indent+l)
		}
		right, asked = right+n, asked+of
	}
	return right, asked
}

func goodWord(k scenarios.Kind) string {
	if k == scenarios.Session {
		return "kept"
	}
	return "refused"
}
