// Package vocab is the scenario vocabulary: the steps and expectations the
// Go catalogue (scenarios/catalog) and the scenario files
// (scenarios/spec) are both written in, built once. Each expectation is
// computed exactly from what happened (the answers of a probe, which
// instance gave each, where each session was), never from a threshold
// timing could cross, and says what it saw, users and requests counted.
// A probe is named; "" is the last one.
package vocab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"statelab"
	"statelab/lb/api"
	"statelab/scenarios"
)

func At(probe string) string {
	if probe == "" {
		return ""
	}
	return " (" + probe + ")"
}

// KeepsAll: every user of v was kept.
func KeepsAll(v statelab.Variant, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "keeps every user" + At(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(scenarios.Kept) == t.Users, OfUsers(t.Of(scenarios.Kept), t.Users) + " kept"
	}, Counts: true}
}

// Every expects every user of v to have outcome o.
func Every(v statelab.Variant, probe string, o scenarios.Outcome, text string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: text + At(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(o) == t.Users, OfUsers(t.Of(o), t.Users) + " " + o.Word()
	}, Counts: true}
}

func LosesAll(v statelab.Variant, probe string) scenarios.Expectation {
	return Every(v, probe, scenarios.Lost, "loses every user's session")
}

func RefusesAll(v statelab.Variant, probe string) scenarios.Expectation {
	return Every(v, probe, scenarios.Refused, "refuses every user")
}

// answer classifies the answers of a probe against a rule that says, for
// each, whether it should have been refused: the expectation holds when
// Exactly those were refused and every other was kept.
func Exactly(v statelab.Variant, probe, text string, shouldRefuse func(a scenarios.Answer) bool, why string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: text + At(probe), Check: func(res *scenarios.Result) (bool, string) {
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

// RefusesElsewhere: memory refuses exactly the requests that landed on an
// instance other than the one holding the user's session.
func RefusesElsewhere(v statelab.Variant, probe string) scenarios.Expectation {
	return Exactly(v, probe, "refuses exactly the requests that reach an instance without the session", func(a scenarios.Answer) bool {
		return a.Instance != a.Holder
	}, "reached another instance than the session's")
}

// RefusesOnlyOn: exactly the requests instance answered are refused.
func RefusesOnlyOn(v statelab.Variant, instance, probe string) scenarios.Expectation {
	return Exactly(v, probe, "refuses exactly the requests "+instance+" answers", func(a scenarios.Answer) bool {
		return a.Instance == instance
	}, "were answered by "+instance)
}

// HeldBy: exactly the users whose session instance held have outcome o
// at the probe; every other user is kept.
func HeldBy(v statelab.Variant, instance, probe string, o scenarios.Outcome) scenarios.Expectation {
	text := o.Word() + ": exactly the users whose session " + instance + " held; every other user kept" + At(probe)
	if o == scenarios.Lost {
		text = "loses exactly the users whose session " + instance + " held" + At(probe)
	}
	return scenarios.Expectation{Variant: v, Text: text, Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(probe)
		var held []string
		for _, a := range vd.Of(v) {
			if a.Holder == instance && !slices.Contains(held, a.User) {
				held = append(held, a.User)
			}
		}
		slices.Sort(held)
		got := vd.UsersWith(v, o)
		t := vd.Tallies[v]
		holds := slices.Equal(held, got) && t.Of(scenarios.Kept) == t.Users-len(got)
		return holds, fmt.Sprintf("%s held %d of %d users' sessions; %s %s, %d kept", instance, len(held), t.Users, scenarios.Plural(len(got), "user"), o.Word(), t.Of(scenarios.Kept))
	}}
}

// Count: at the probe, the users of v with outcome o are all of them,
// none, some (not none, not all), or exactly n (users is the number).
func Count(v statelab.Variant, probe string, o scenarios.Outcome, users string) (scenarios.Expectation, error) {
	want := -1
	switch users {
	case "all", "none", "some":
	default:
		n, err := strconv.Atoi(users)
		if err != nil || n < 0 {
			return scenarios.Expectation{}, fmt.Errorf("users %q: want all, none, some, a number, or \"held by INSTANCE\"", users)
		}
		want = n
	}
	word := "users"
	if users == "1" {
		word = "user"
	}
	return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("%s: %s %s%s", o.Word(), users, word, At(probe)), Counts: true, Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		n := t.Of(o)
		var holds bool
		switch users {
		case "all":
			holds = t.Users > 0 && n == t.Users
		case "none":
			holds = n == 0
		case "some":
			holds = n > 0 && n < t.Users
		default:
			holds = n == want
		}
		return holds, OfUsers(n, t.Users) + " " + o.Word()
	}}, nil
}

// UnavailableFromInstances: every user got 503s answered by an instance
// (not a balancer's 502 or 504): the instances are up, their store is not.
func UnavailableFromInstances(v statelab.Variant, probe string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "answers every user 503 from its healthy instances" + At(probe), Check: func(res *scenarios.Result) (bool, string) {
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
			fmt.Sprintf("%s unavailable; %d of %d requests answered 503 by an instance", OfUsers(t.Of(scenarios.Unavailable), t.Users), fromInstance, len(answers))
	}}
}

// Credentials expects every replayed (k Replay) or forged (k Forgery)
// credential of v to be refused, or else accepted for the user it names.
func Credentials(v statelab.Variant, k scenarios.Kind, probe string, refused bool) scenarios.Expectation {
	what, o := "old credential", scenarios.ReplayAccepted
	if k == scenarios.Forgery {
		what, o = "forged credential", scenarios.ForgeryAccepted
	}
	text := "accepts every " + what + ", for the user it names"
	if refused {
		text, o = "refuses every "+what, scenarios.Refused
	}
	return scenarios.Expectation{Variant: v, Text: text + At(probe), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(probe).Tallies[v]
		return t.Users > 0 && t.Of(o) == t.Users, OfUsers(t.Of(o), t.Users) + ": " + o.Word()
	}, Counts: true}
}

// And joins words as "a, b and c".
func And(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// OfUsers says "3 of 30 users", "1 of 1 user".
func OfUsers(n, of int) string {
	if of == 1 {
		return fmt.Sprintf("%d of 1 user", n)
	}
	return fmt.Sprintf("%d of %d users", n, of)
}

// Fill is the step that logs every user in and fills its cart.
func Fill() scenarios.Step {
	return scenarios.Step{
		Title: "log every user in and fill its cart",
		Why:   "Each user logs in and adds its planned items, one request each.",
		Run:   func(r *scenarios.Run) error { return r.FillAll() },
	}
}

// Policy is the step that sets every pool's policy.
func Policy(pol api.Policy, strict bool) scenarios.Step {
	st := scenarios.Step{Title: "turn on " + string(pol) + " routing", Why: "The balancer's policy for every pool: " + api.Describe(pol, strict).Says + ".",
		Run: func(r *scenarios.Run) error { return r.SetPolicy(pol, strict) }}
	if pol.Pins() && !strict {
		st.Why = "The balancer pins each user to one instance with a cookie."
	}
	if strict && pol.Pins() {
		st.Title = "turn on strict " + string(pol) + " routing"
	}
	return st
}

// Sticky is the step that pins every user to an instance.
func Sticky() scenarios.Step { return Policy(api.Sticky, false) }

// Ask is the probe step of a scenario file: every user asked who it is.
func Ask(name string, times int) scenarios.Step {
	return Probe(name, times, "ask every user who it is: “"+name+"”", "")
}

// Probe is a step that asks every user who it is, times times, as the
// probe name.
func Probe(name string, times int, title, why string) scenarios.Step {
	return scenarios.Step{Title: title, Why: why, Run: func(r *scenarios.Run) error {
		_, err := r.Probe(name, times)
		return err
	}}
}
