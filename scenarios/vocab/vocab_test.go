package vocab_test

import (
	"strings"
	"testing"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// answer is one answer of a probe named "p".
func answer(v statelab.Variant, user, instance, holder string, o scenarios.Outcome) scenarios.Answer {
	return scenarios.Answer{Variant: v, User: user, Instance: instance, Holder: holder, Status: 200, Outcome: o}
}

// TestExpectations decides each expectation of the vocabulary on made-up
// probes: each holds exactly when what it says happened, and says what it
// saw.
func TestExpectations(t *testing.T) {
	const m = statelab.Memory
	kept, lost, refused := scenarios.Kept, scenarios.Lost, scenarios.Refused
	// Three users of memory: a and b logged in on memory-2, c on memory-1.
	killed := scenarios.ResultOf(scenarios.VerdictOf("p", scenarios.Session,
		answer(m, "a", "memory-1", "memory-2", lost), answer(m, "b", "memory-3", "memory-2", lost),
		answer(m, "c", "memory-1", "memory-1", kept)))
	// Round robin: each request either reaches the holder (kept) or not.
	spread := scenarios.ResultOf(scenarios.VerdictOf("p", scenarios.Session,
		answer(m, "a", "memory-1", "memory-1", kept), answer(m, "a", "memory-2", "memory-1", refused),
		answer(m, "b", "memory-2", "memory-2", kept)))
	// One instance with another key: what it answers is refused.
	drift := scenarios.ResultOf(scenarios.VerdictOf("p", scenarios.Session,
		answer(m, "a", "memory-2", "memory-1", refused), answer(m, "a", "memory-1", "memory-1", kept),
		answer(m, "b", "memory-3", "memory-2", kept)))
	all := scenarios.ResultOf(scenarios.VerdictOf("p", scenarios.Session,
		answer(m, "a", "memory-1", "memory-1", kept), answer(m, "b", "memory-2", "memory-2", kept)))
	count := func(users string) scenarios.Expectation {
		e, err := vocab.Count(m, "p", lost, users)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		name  string
		e     scenarios.Expectation
		res   *scenarios.Result
		holds bool
		saw   string
	}{
		{"held by memory-2, lost", vocab.HeldBy(m, "memory-2", "p", lost), killed, true, "memory-2 held 2 of 3 users' sessions; 2 users lost, 1 kept"},
		{"held by memory-1, lost", vocab.HeldBy(m, "memory-1", "p", lost), killed, false, "memory-1 held 1 of 3"},
		{"keeps all, when one is lost", vocab.KeepsAll(m, "p"), killed, false, "1 of 3 users kept"},
		{"keeps all", vocab.KeepsAll(m, "p"), all, true, "2 of 2 users kept"},
		{"loses all", vocab.LosesAll(m, "p"), killed, false, "2 of 3 users lost"},
		{"refuses elsewhere", vocab.RefusesElsewhere(m, "p"), spread, true, "1 of 3 requests reached another instance"},
		{"refuses elsewhere, lost instead", vocab.RefusesElsewhere(m, "p"), killed, false, "not what that predicts"},
		{"refuses only on memory-2", vocab.RefusesOnlyOn(m, "memory-2", "p"), drift, true, "1 of 3 requests were answered by memory-2"},
		{"refuses only on memory-2, one kept there", vocab.RefusesOnlyOn(m, "memory-2", "p"), spread, false, "not what that predicts"},
		{"count 2 lost", count("2"), killed, true, "2 of 3 users lost"},
		{"count some lost", count("some"), killed, true, ""},
		{"count none lost", count("none"), killed, false, ""},
		{"count all lost", count("all"), killed, false, ""},
		{"a probe nobody made", vocab.KeepsAll(m, "q"), all, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holds, saw := tc.e.Check(tc.res)
			if holds != tc.holds || !strings.Contains(saw, tc.saw) {
				t.Errorf("%s: holds %v, saw %q; want %v, %q", tc.e.Text, holds, saw, tc.holds, tc.saw)
			}
		})
	}
	if _, err := vocab.Count(m, "p", lost, "many"); err == nil {
		t.Error(`users "many" taken`)
	}
}
