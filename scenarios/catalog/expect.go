package catalog

import (
	"fmt"
	"slices"

	"statelab"
	"statelab/scenarios"
)

// Expectations shared by the scenarios. verdict names a probe; "" is the last.

func keepsAll(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "keeps every user" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(verdict).Tallies[v]
		return t.Users > 0 && t.Kept == t.Users, fmt.Sprintf("%d of %d kept", t.Kept, t.Users)
	}}
}

func losesMost(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "loses most users, and fails most requests" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		vd := res.Verdict(verdict)
		t := vd.Tallies[v]
		lost := t.LostSession + t.LostData
		return lost*2 > t.Users && vd.Failed[v]*2 > vd.Requests[v],
			fmt.Sprintf("%d of %d users lost; %d of %d probe requests not kept", lost, t.Users, vd.Failed[v], vd.Requests[v])
	}}
}

func losesAll(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "loses every user's session" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(verdict).Tallies[v]
		return t.Users > 0 && t.LostSession == t.Users, fmt.Sprintf("%d of %d lost their session", t.LostSession, t.Users)
	}}
}

// losesThoseOn expects exactly the users that before were on instance n of
// the variant to lose their session after, and every other user kept.
func losesThoseOn(v statelab.Variant, n int, before, after string) scenarios.Expectation {
	instance := fmt.Sprintf("%s-%d", v, n)
	return scenarios.Expectation{Variant: v, Text: "loses exactly the users pinned to " + instance + at(after), Check: func(res *scenarios.Result) (bool, string) {
		pinned := res.Verdict(before).UsersOn(v, instance)
		lost := res.Verdict(after).UsersWith(v, scenarios.LostSession)
		t := res.Verdict(after).Tallies[v]
		holds := len(pinned) > 0 && slices.Equal(pinned, lost) && t.Kept == t.Users-len(lost)
		return holds, fmt.Sprintf("%d of %d pinned there, %d lost, %d kept", len(pinned), t.Users, len(lost), t.Kept)
	}}
}

func allUnavailable(v statelab.Variant, verdict string) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "answers every user 503, and loses none" + at(verdict), Check: func(res *scenarios.Result) (bool, string) {
		t := res.Verdict(verdict).Tallies[v]
		return t.Users > 0 && t.Unavailable == t.Users, fmt.Sprintf("%d of %d unavailable, %d lost", t.Unavailable, t.Users, t.LostSession)
	}}
}

func at(verdict string) string {
	if verdict == "" {
		return ""
	}
	return " (" + verdict + ")"
}
