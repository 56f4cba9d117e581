package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"statelab"
	"statelab/scenarios"
)

// expectation reads {variant, probe, outcome, users}: users is all, none,
// some, a number, or "held by INSTANCE" (exactly the users whose session
// that instance held have the outcome, and every other user is kept).
func (p *parser) expectation(n *yaml.Node, probes map[string]bool) (scenarios.Expectation, error) {
	f, err := p.mapping(n, "an expectation", "variant", "probe", "outcome", "users")
	if err != nil {
		return scenarios.Expectation{}, err
	}
	for _, req := range []string{"variant", "probe", "outcome", "users"} {
		if f[req] == nil {
			return scenarios.Expectation{}, p.errAt(n, "an expectation needs %q (variant, probe, outcome, users)", req)
		}
	}
	v, err := statelab.ParseVariant(f["variant"].Value)
	if err != nil {
		return scenarios.Expectation{}, p.errAt(f["variant"], "%v", err)
	}
	probe := f["probe"].Value
	if !probes[probe] {
		return scenarios.Expectation{}, p.errAt(f["probe"], "no step probes %q", probe)
	}
	var o scenarios.Outcome
	for _, known := range scenarios.Outcomes {
		if f["outcome"].Value == string(known) || f["outcome"].Value == known.Word() {
			o = known
		}
	}
	if o == "" {
		var words []string
		for _, known := range scenarios.Outcomes {
			words = append(words, known.Word())
		}
		return scenarios.Expectation{}, p.errAt(f["outcome"], "outcome %q: want one of %s", f["outcome"].Value, strings.Join(words, ", "))
	}
	users := f["users"].Value
	at := " (" + probe + ")"
	if inst, ok := strings.CutPrefix(users, "held by "); ok {
		return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("%s: exactly the users whose session %s held; every other user kept%s", o.Word(), inst, at), Check: func(res *scenarios.Result) (bool, string) {
			vd := res.Verdict(probe)
			var held []string
			for _, a := range vd.Of(v) {
				if a.Holder == inst && !slices.Contains(held, a.User) {
					held = append(held, a.User)
				}
			}
			slices.Sort(held)
			got := vd.UsersWith(v, o)
			t := vd.Tallies[v]
			return slices.Equal(held, got) && t.Of(scenarios.Kept) == t.Users-len(got),
				fmt.Sprintf("%s held %d of %d users' sessions; %d users %s, %d kept", inst, len(held), t.Users, len(got), o.Word(), t.Of(scenarios.Kept))
		}}, nil
	}
	want := -1
	switch users {
	case "all", "none", "some":
	default:
		if want, err = strconv.Atoi(users); err != nil || want < 0 {
			return scenarios.Expectation{}, p.errAt(f["users"], "users %q: want all, none, some, a number, or \"held by INSTANCE\"", users)
		}
	}
	return scenarios.Expectation{Variant: v, Text: fmt.Sprintf("%s: %s %s%s", o.Word(), users, plural(users), at), Counts: true, Check: func(res *scenarios.Result) (bool, string) {
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
		return holds, fmt.Sprintf("%d of %d %s %s", n, t.Users, plural(strconv.Itoa(t.Users)), o.Word())
	}}, nil
}

func plural(users string) string {
	if users == "1" {
		return "user"
	}
	return "users"
}
