package scenarios

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Outcome is what one answer meant for a user. One meaning each, everywhere:
// terminal, Markdown, JSON and pages.
type Outcome string

// The outcomes.
const (
	// Kept: the user was served with its session and data.
	Kept Outcome = "kept"
	// Refused: the answer was 401, but the session still exists somewhere
	// (on another instance, under another key): nothing was destroyed. In a
	// replay or forgery probe, the credential was turned away: good.
	Refused Outcome = "refused"
	// Lost: the session is gone for good (its only copy died, was flushed
	// or expired): the user must log in again.
	Lost Outcome = "lost"
	// LostData: logged in, but part of its state is gone.
	LostData Outcome = "lost_data"
	// Duplicated: a write the user made once was applied twice.
	Duplicated Outcome = "duplicated"
	// Unavailable: a 5xx or no answer.
	Unavailable Outcome = "unavailable"
	// WrongUser: someone else's session. Never acceptable.
	WrongUser Outcome = "wrong_user"
	// ReplayAccepted: a credential the user gave up (logged out) was taken.
	ReplayAccepted Outcome = "replay_accepted"
	// ForgeryAccepted: a credential an attacker made was taken.
	ForgeryAccepted Outcome = "forgery_accepted"
)

// Outcomes lists every outcome, in the order tables show them.
var Outcomes = []Outcome{Kept, Refused, Lost, LostData, Duplicated, Unavailable, WrongUser, ReplayAccepted, ForgeryAccepted}

// Word is the outcome as the reports print it: "lost data".
func (o Outcome) Word() string { return strings.ReplaceAll(string(o), "_", " ") }

// Kind is what a probe asks, which decides whether a refusal is good.
type Kind string

// The kinds of probe.
const (
	// Session: is the user still served, with its cart? Only kept is good.
	Session Kind = "session"
	// Replay: after logout, is the old credential still taken? Refused is
	// good, replay accepted is bad.
	Replay Kind = "replay"
	// Forgery: is a credential made by an attacker taken? Refused is good,
	// forgery accepted is bad.
	Forgery Kind = "forgery"
)

// Good reports whether o is what a user (or, for the security probes, the
// site) wants from a probe of kind k.
func (o Outcome) Good(k Kind) bool {
	if k == Session {
		return o == Kept
	}
	return o == Refused
}

// Mark is ✓ for a good outcome and ✗ for a bad one: every outcome is shown
// with its mark, never by colour alone.
func (o Outcome) Mark(k Kind) string {
	if o.Good(k) {
		return "✓"
	}
	return "✗"
}

// rank orders outcomes from best to worst for a probe of kind k: a user's
// outcome over several answers is the worst of them.
func (o Outcome) rank(k Kind) int {
	order := []Outcome{Kept, LostData, Duplicated, Unavailable, Refused, Lost, ReplayAccepted, ForgeryAccepted, WrongUser}
	if k != Session {
		order = []Outcome{Refused, Unavailable, Kept, LostData, Duplicated, Lost, ReplayAccepted, ForgeryAccepted, WrongUser}
	}
	return slices.Index(order, o)
}

// worse returns the worse of two outcomes of a probe of kind k.
func worse(k Kind, a, b Outcome) Outcome {
	if a == "" || b.rank(k) > a.rank(k) {
		return b
	}
	return a
}

// Tally counts the outcomes of a variant's users at one probe: each user
// once, with the worst of its answers.
type Tally struct {
	Kind  Kind
	Users int
	// Count is the users per outcome.
	Count map[Outcome]int
	// DetectSeconds is the mean time from ending an instance to the
	// balancer marking it down, when the scenario ended one.
	DetectSeconds *float64
	// Recover says how long users took to be served again after the
	// scenario's faults, in the recovery words (NoneFailed, LogInAgain,
	// "once fixed, …", "logged in again, …", "still refused", or a time);
	// empty when the scenario has no fault (see Run.recovery).
	Recover string
	// RecoverSeconds is Recover as a number, when it is one.
	RecoverSeconds *float64
}

func newTally(k Kind) *Tally { return &Tally{Kind: k, Count: map[Outcome]int{}} }

func (t *Tally) add(o Outcome) {
	t.Users++
	t.Count[o]++
}

// Of returns the number of users with outcome o.
func (t Tally) Of(o Outcome) int { return t.Count[o] }

// Good counts the users whose outcome is good for the probe's kind.
func (t Tally) Good() int {
	n := 0
	for o, c := range t.Count {
		if o.Good(t.Kind) {
			n += c
		}
	}
	return n
}

// Words says the tally in outcome words, worst first, each with its mark:
// "✗ 10 lost, ✓ 20 kept".
func (t Tally) Words() string {
	var bad, good []string
	for i := len(Outcomes) - 1; i >= 0; i-- {
		o := Outcomes[i]
		n := t.Count[o]
		if n == 0 {
			continue
		}
		w := fmt.Sprintf("%s %d %s", o.Mark(t.Kind), n, o.Word())
		if o.Good(t.Kind) {
			good = append(good, w)
		} else {
			bad = append(bad, w)
		}
	}
	if len(bad)+len(good) == 0 {
		return "no users"
	}
	return strings.Join(append(bad, good...), ", ")
}

// tallyJSON is how a tally appears in the journal.
type tallyJSON struct {
	Kind           Kind           `json:"kind"`
	Users          int            `json:"users"`
	Outcomes       map[string]int `json:"outcomes"`
	Words          string         `json:"words"`
	DetectSeconds  *float64       `json:"detect_seconds,omitempty"`
	Recover        string         `json:"recover,omitempty"`
	RecoverSeconds *float64       `json:"recover_seconds,omitempty"`
}

// MarshalJSON writes the counts under their outcome names, with the words.
func (t Tally) MarshalJSON() ([]byte, error) {
	j := tallyJSON{Kind: t.Kind, Users: t.Users, Outcomes: map[string]int{}, Words: t.Words(),
		DetectSeconds: t.DetectSeconds, Recover: t.Recover, RecoverSeconds: t.RecoverSeconds}
	for o, n := range t.Count {
		j.Outcomes[string(o)] = n
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (t *Tally) UnmarshalJSON(data []byte) error {
	var j tallyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*t = Tally{Kind: j.Kind, Users: j.Users, Count: map[Outcome]int{}, DetectSeconds: j.DetectSeconds, Recover: j.Recover, RecoverSeconds: j.RecoverSeconds}
	for o, n := range j.Outcomes {
		t.Count[Outcome(o)] = n
	}
	return nil
}
