package spec

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// expectation reads {variant, probe, outcome, users}: users is all, none,
// some, a number, "held by INSTANCE" (exactly the users whose session
// that instance held have the outcome, and every other user is kept), or,
// with outcome refused, "elsewhere" (exactly the requests that reach an
// instance without the session are refused).
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
	if inst, ok := strings.CutPrefix(users, "held by "); ok {
		return vocab.HeldBy(v, inst, probe, o), nil
	}
	if users == "elsewhere" {
		if o != scenarios.Refused {
			return scenarios.Expectation{}, p.errAt(f["users"], "users: elsewhere goes with outcome: refused (exactly the requests that reach an instance without the session)")
		}
		return vocab.RefusesElsewhere(v, probe), nil
	}
	e, err := vocab.Count(v, probe, o, users)
	if err != nil {
		return scenarios.Expectation{}, p.errAt(f["users"], "%v", err)
	}
	return e, nil
}
