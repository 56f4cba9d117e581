package scenarios

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"statelab"
)

// Verdict is the outcome of every user at one probe.
type Verdict struct {
	Name string
	Kind Kind
	// Tallies count users per outcome, per variant.
	Tallies map[statelab.Variant]*Tally
	// Outcome is each user's outcome (worst of its answers), per variant.
	Outcome map[statelab.Variant]map[string]Outcome
	// Instance is the instance that answered each user's last request.
	Instance map[statelab.Variant]map[string]string
	// Answers are every answer of the probe, in the order they came.
	Answers []Answer
	// Repinned counts, per variant, the users the balancer moved to another
	// instance during the probe.
	Repinned map[statelab.Variant]int
}

// Answer is one answer of a probe.
type Answer struct {
	Variant  statelab.Variant
	User     string
	Instance string // the instance that answered; "" when none did
	// Holder, for the memory variant, is the instance that created the
	// user's session at login: the only one that can serve it.
	Holder  string
	Status  int
	Outcome Outcome
	Took    time.Duration
	Cred    int // bytes of credential the request carried
}

func newVerdict(name string, k Kind) *Verdict {
	v := &Verdict{
		Name:     name,
		Kind:     k,
		Tallies:  map[statelab.Variant]*Tally{},
		Outcome:  map[statelab.Variant]map[string]Outcome{},
		Instance: map[statelab.Variant]map[string]string{},
		Repinned: map[statelab.Variant]int{},
	}
	for _, va := range statelab.Variants {
		v.Tallies[va] = newTally(k)
		v.Outcome[va] = map[string]Outcome{}
		v.Instance[va] = map[string]string{}
	}
	return v
}

// observe keeps one answer of a user (not its final outcome).
func (v *Verdict) observe(u *User, o Outcome, resp Response) {
	holder := ""
	if !u.Variant.Describe().Shared() { // only its origin holds the session
		holder = u.Origin.Instance
	}
	v.Answers = append(v.Answers, Answer{Variant: u.Variant, User: u.Name, Instance: resp.Instance, Holder: holder,
		Status: resp.Status, Outcome: o, Took: resp.Took, Cred: resp.CredBytes})
}

// Of returns the answers of a variant's users.
func (v *Verdict) Of(va statelab.Variant) []Answer {
	var out []Answer
	for _, a := range v.Answers {
		if a.Variant == va {
			out = append(out, a)
		}
	}
	return out
}

// Requests counts a variant's answers, and those whose outcome was not good.
func (v *Verdict) Requests(va statelab.Variant) (all, bad int) {
	for _, a := range v.Of(va) {
		all++
		if !a.Outcome.Good(v.Kind) {
			bad++
		}
	}
	return all, bad
}

// Sequence is a user's outcomes, answer by answer.
func (v *Verdict) Sequence(va statelab.Variant, user string) []Outcome {
	var out []Outcome
	for _, a := range v.Of(va) {
		if a.User == user {
			out = append(out, a.Outcome)
		}
	}
	return out
}

// Flapped returns the users whose answers went from kept to not kept and
// back to kept.
func (v *Verdict) Flapped(va statelab.Variant) []string {
	var out []string
	for u := range v.Outcome[va] {
		state := 0 // 0: not yet kept, 1: kept, 2: kept then not, 3: and kept again
		for _, o := range v.Sequence(va, u) {
			switch {
			case o == Kept && state == 2:
				state = 3
			case o == Kept && state == 0:
				state = 1
			case o != Kept && state == 1:
				state = 2
			}
		}
		if state == 3 {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// UsersOn returns the users whose last request was answered by instance.
func (v *Verdict) UsersOn(va statelab.Variant, instance string) []string {
	var out []string
	for u, in := range v.Instance[va] {
		if in == instance {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// UsersWith returns the users with outcome o.
func (v *Verdict) UsersWith(va statelab.Variant, o Outcome) []string {
	var out []string
	for u, got := range v.Outcome[va] {
		if got == o {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// Spread says how a variant's users are spread over the instances that
// answered their last request: "memory-1 10, memory-2 11, memory-3 9".
func (v *Verdict) Spread(va statelab.Variant) string {
	var all []string
	for u := range v.Instance[va] {
		all = append(all, u)
	}
	return v.SpreadOf(va, all)
}

// SpreadOf says how some of a variant's users are spread over the
// instances that answered their last request.
func (v *Verdict) SpreadOf(va statelab.Variant, users []string) string {
	count := map[string]int{}
	for _, u := range users {
		in := v.Instance[va][u]
		if in == "" {
			in = "none"
		}
		count[in]++
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, count[k])
	}
	return strings.Join(parts, ", ")
}

// Took returns the latencies of a variant's answers.
func (v *Verdict) Took(va statelab.Variant) []time.Duration {
	var out []time.Duration
	for _, a := range v.Of(va) {
		out = append(out, a.Took)
	}
	return out
}

// Cred returns the credential bytes of a variant's requests.
func (v *Verdict) Cred(va statelab.Variant) []int {
	var out []int
	for _, a := range v.Of(va) {
		out = append(out, a.Cred)
	}
	return out
}

// Median returns the median of xs (the upper one of an even count), or 0.
func Median[T int | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Result is what a scenario's expectations and lesson look at.
type Result struct {
	Verdicts []*Verdict
	// Detect holds, per variant, the times from ending an instance to the
	// balancer marking it down, in seconds.
	Detect map[statelab.Variant][]float64
	// Facts are figures a step recorded for its expectations and lesson;
	// the journal keeps them, so that every number a lesson states can be
	// found there.
	Facts map[string]any

	mu      sync.Mutex
	unknown []string // verdict names asked for that no probe made
}

func newResult() *Result {
	return &Result{Detect: map[statelab.Variant][]float64{}, Facts: map[string]any{}}
}

// Verdict returns the verdict with this name, or the last one for "". A
// name no probe made gives an empty verdict, and the scenario fails with
// the name: a typo must not pass for an outcome.
func (res *Result) Verdict(name string) *Verdict {
	if name == "" {
		if len(res.Verdicts) == 0 {
			return newVerdict("none", Session)
		}
		return res.Verdicts[len(res.Verdicts)-1]
	}
	for _, v := range res.Verdicts {
		if v.Name == name {
			return v
		}
	}
	res.mu.Lock()
	if !slices.Contains(res.unknown, name) {
		res.unknown = append(res.unknown, name)
	}
	res.mu.Unlock()
	return newVerdict(name, Session)
}

// Int returns a fact recorded as an int (0 when there is none).
func (res *Result) Int(key string) int {
	n, _ := res.Facts[key].(int)
	return n
}

// Float returns a fact recorded as a float64 (0 when there is none).
func (res *Result) Float(key string) float64 {
	f, _ := res.Facts[key].(float64)
	return f
}

// VerdictOf builds a verdict from a probe's answers, as the probe would
// have: each user's outcome is the worst of its answers, its instance the
// one that gave its last. It is how the vocabulary's expectations are
// tested without a lab.
func VerdictOf(name string, k Kind, answers ...Answer) *Verdict {
	v := newVerdict(name, k)
	for _, a := range answers {
		if v.Outcome[a.Variant] == nil {
			v.Outcome[a.Variant], v.Instance[a.Variant] = map[string]Outcome{}, map[string]string{}
			v.Tallies[a.Variant] = newTally(k)
		}
		v.Outcome[a.Variant][a.User] = worse(k, v.Outcome[a.Variant][a.User], a.Outcome)
		v.Instance[a.Variant][a.User] = a.Instance
		v.Answers = append(v.Answers, a)
	}
	for va, users := range v.Outcome {
		for _, o := range users {
			v.Tallies[va].add(o)
		}
	}
	return v
}

// ResultOf is a result made of verdicts, for tests.
func ResultOf(vs ...*Verdict) *Result {
	r := newResult()
	r.Verdicts = vs
	return r
}
