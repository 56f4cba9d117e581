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
	// Tallies count outcomes per variant.
	Tallies map[statelab.Variant]*Tally
	// Outcome is each user's outcome (worst of its probes), per variant.
	Outcome map[statelab.Variant]map[string]Outcome
	// Instance is the instance that answered each user's last probe.
	Instance map[statelab.Variant]map[string]string
	// Requests and Failed count the probe requests and those not kept.
	Requests, Failed map[statelab.Variant]int
	// Sequence is each user's outcomes, request by request.
	Sequence map[statelab.Variant]map[string][]Outcome
	// ByInstance counts, per instance that answered, the probe requests
	// and those not kept.
	ByInstance map[statelab.Variant]map[string]*[2]int
	// Took and Cred are each probe's latency and credential bytes.
	Took map[statelab.Variant][]time.Duration
	Cred map[statelab.Variant][]int
}

func newVerdict(name string) *Verdict {
	v := &Verdict{
		Name:       name,
		Tallies:    map[statelab.Variant]*Tally{},
		Outcome:    map[statelab.Variant]map[string]Outcome{},
		Instance:   map[statelab.Variant]map[string]string{},
		Requests:   map[statelab.Variant]int{},
		Failed:     map[statelab.Variant]int{},
		Sequence:   map[statelab.Variant]map[string][]Outcome{},
		ByInstance: map[statelab.Variant]map[string]*[2]int{},
		Took:       map[statelab.Variant][]time.Duration{},
		Cred:       map[statelab.Variant][]int{},
	}
	for _, va := range statelab.Variants {
		v.Tallies[va] = &Tally{}
		v.Outcome[va] = map[string]Outcome{}
		v.Instance[va] = map[string]string{}
		v.Sequence[va] = map[string][]Outcome{}
		v.ByInstance[va] = map[string]*[2]int{}
	}
	return v
}

// observe counts one probe answer of a user (not its final outcome).
func (v *Verdict) observe(va statelab.Variant, user string, o Outcome, resp Response) {
	instance := resp.Instance
	v.Took[va] = append(v.Took[va], resp.Took)
	v.Cred[va] = append(v.Cred[va], resp.CredBytes)
	v.Sequence[va][user] = append(v.Sequence[va][user], o)
	v.Requests[va]++
	if o != Kept {
		v.Failed[va]++
	}
	if instance == "" {
		instance = "none"
	}
	c := v.ByInstance[va][instance]
	if c == nil {
		c = &[2]int{}
		v.ByInstance[va][instance] = c
	}
	c[0]++
	if o != Kept {
		c[1]++
	}
}

// Flapped returns the users whose answers went from kept to not kept and
// back to kept.
func (v *Verdict) Flapped(va statelab.Variant) []string {
	var out []string
	for u, seq := range v.Sequence[va] {
		state := 0 // 0: not yet kept, 1: kept, 2: kept then lost, 3: and kept again
		for _, o := range seq {
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

// UsersOn returns the users whose last probe was answered by instance.
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

// Spread says how a variant's users are spread over instances, e.g.
// "memory-1 10, memory-2 11, memory-3 9".
func (v *Verdict) Spread(va statelab.Variant) string {
	count := map[string]int{}
	for _, in := range v.Instance[va] {
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

// Median returns the median latency of a variant's probes.
func (v *Verdict) Median(va statelab.Variant) time.Duration { return Median(v.Took[va]) }

// Max returns the longest latency of a variant's probes.
func (v *Verdict) Max(va statelab.Variant) time.Duration {
	var m time.Duration
	for _, d := range v.Took[va] {
		m = max(m, d)
	}
	return m
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
	// Facts are figures a step recorded for its expectations and lesson.
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
			return newVerdict("none")
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
	return newVerdict(name)
}
