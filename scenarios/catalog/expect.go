package catalog

import (
	"fmt"
	"slices"
	"strings"

	"statelab"
	"statelab/scenarios"
)

// Expectations the scenarios share. Each is computed exactly from what
// happened (the answers of a probe, which instance gave each, where each
// session was), never from a threshold timing could cross; each says what it
// saw, users and requests labelled. probe names a probe; "" is the last.

func at(probe string) string {
	if probe == "" {
		return ""
	}
	return " (" + probe + ")"
}

// keepsAll: every user of v was kept.
func keepsAll(v statelab.Variant, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "keeps every user" + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(scenarios.Kept) == t.Users, ofUsers(t.Of(scenarios.Kept), t.Users) + " kept"
	}, Counts: true}
}

// every expects every user of v to have outcome o.
func every(v statelab.Variant, probe string, o scenarios.Outcome, text string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: text + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(o) == t.Users, ofUsers(t.Of(o), t.Users) + " " + o.Word()
	}, Counts: true}
}

func losesAll(v statelab.Variant, probe string) scenarios.Expectation {
	return every(v, probe, scenarios.Lost, "loses every user's session")
}

func refusesAll(v statelab.Variant, probe string) scenarios.Expectation {
	return every(v, probe, scenarios.Refused, "refuses every user")
}

// answer classifies the answers of a probe against a rule that says, for
// each, whether it should have been refused: the expectation holds when
// exactly those were refused and every other was kept.
func exactly(v statelab.Variant, probe, text string, shouldRefuse func(a scenarios.Answer) bool, why string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: text + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(probe)
		answers := vd.Of(v)
		should, wrong := 0, 0
		for _, a := range answers {
			want := scenarios.Kept
			if shouldRefuse(a) {
				should++
				want = scenarios.Refused
			}
			if a.Outcome != want {
				wrong++
			}
		}
		t := vd.Tallies[v]
		observed := fmt.Sprintf("%d of %d requests %s: exactly those refused, the other %d kept (%d of %d users refused at least once)",
			should, len(answers), why, len(answers)-should, t.Of(scenarios.Refused), t.Users)
		if wrong > 0 {
			observed = fmt.Sprintf("%d of %d requests %s, but %d answers were not what that predicts", should, len(answers), why, wrong)
		}
		return len(answers) > 0 && wrong == 0, observed
	}}
}

// refusesElsewhere: memory refuses exactly the requests that landed on an
// instance other than the one holding the user's session.
func refusesElsewhere(v statelab.Variant, probe string) scenarios.Expectation {
	return exactly(v, probe, "refuses exactly the requests that reach an instance without the session", func(a scenarios.Answer) bool {
		return a.Instance != a.Holder
	}, "reached another instance than the session's")
}

// refusesOnlyOn: exactly the requests instance answered are refused.
func refusesOnlyOn(v statelab.Variant, instance, probe string) scenarios.Expectation {
	return exactly(v, probe, "refuses exactly the requests "+instance+" answers", func(a scenarios.Answer) bool {
		return a.Instance == instance
	}, "were answered by "+instance)
}

// losesHeldOn: exactly the users whose session instance held are lost; the
// others are kept.
func losesHeldOn(v statelab.Variant, instance, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "loses exactly the users whose session " + instance + " held" + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(probe)
		var held []string
		for _, a := range vd.Of(v) {
			if a.Holder == instance && !slices.Contains(held, a.User) {
				held = append(held, a.User)
			}
		}
		slices.Sort(held)
		lost := vd.UsersWith(v, scenarios.Lost)
		t := vd.Tallies[v]
		holds := slices.Equal(held, lost) && t.Of(scenarios.Kept) == t.Users-len(lost)
		return holds, fmt.Sprintf("%s held %d of %d users' sessions; %d users lost, %d kept", instance, len(held), t.Users, len(lost), t.Of(scenarios.Kept))
	}}
}

// unavailableFromInstances: every user got 503s answered by an instance
// (not a balancer's 502 or 504): the instances are up, their store is not.
func unavailableFromInstances(v statelab.Variant, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "answers every user 503 from its healthy instances" + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(probe)
		answers := vd.Of(v)
		fromInstance := 0
		for _, a := range answers {
			if a.Status == 503 && a.Instance != "" {
				fromInstance++
			}
		}
		t := vd.Tallies[v]
		return t.Users > 0 && t.Of(scenarios.Unavailable) == t.Users && fromInstance == len(answers),
			fmt.Sprintf("%s unavailable; %d of %d requests answered 503 by an instance", ofUsers(t.Of(scenarios.Unavailable), t.Users), fromInstance, len(answers))
	}}
}

// credentials expects every replayed (k Replay) or forged (k Forgery)
// credential of v to be refused, or else accepted for the user it names.
func credentials(v statelab.Variant, k scenarios.Kind, probe string, refused bool) scenarios.Expectation {
	what, o := "old credential", scenarios.ReplayAccepted
	if k == scenarios.Forgery {
		what, o = "forged credential", scenarios.ForgeryAccepted
	}
	text := "accepts every " + what + ", for the user it names"
	if refused {
		text, o = "refuses every "+what, scenarios.Refused
	}
	return scenarios.Expectation{Variant: v, Text: text + at(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(o) == t.Users, ofUsers(t.Of(o), t.Users) + ": " + o.Word()
	}, Counts: true}
}

// sizes formats figures at each cart size: "222, 222 and 222 B at 1, 10 and
// 100 items".
func sizes(f []costFigures, value func(costFigures) int64) string {
	if len(f) == 0 {
		return "no figures"
	}
	values, items := make([]string, len(f)), make([]string, len(f))
	for i, x := range f {
		values[i], items[i] = fmt.Sprint(value(x)), fmt.Sprint(x.Items)
	}
	return fmt.Sprintf("%s B at %s items", and(values), and(items))
}

// capital puts the first letter in upper case.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// and joins words as "a, b and c".
func and(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// ofUsers says "3 of 30 users", "1 of 1 user".
func ofUsers(n, of int) string {
	if of == 1 {
		return fmt.Sprintf("%d of 1 user", n)
	}
	return fmt.Sprintf("%d of %d users", n, of)
}
