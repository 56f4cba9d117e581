// Package scenarios is the lab's experiment: virtual users log in through the
// balancer to all three variants at once, get a cart, and then something
// breaks (an instance is killed, instances restart, routing changes, Redis
// goes down...). Each scenario narrates its steps, probes every user, counts
// who was kept and who was lost, checks that against what it expects of each
// variant, and ends with the lesson and the claim of the seed articles it
// tests. The same code is a demo, a test and a report.
package scenarios

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"statelab/servers"
)

// Scenario is one experiment.
type Scenario struct {
	// Name is what `lab run NAME` takes.
	Name string
	// Summary is the one line `lab list` shows.
	Summary string
	// Setup says, in the title line, how the lab is set up.
	Setup string
	// Claims are the claims of the seed articles the scenario tests.
	Claims []Claim
	// Steps run in order.
	Steps []Step
	// Expect is what each variant must show; every probe also expects no
	// wrong user, for every variant.
	Expect []Expectation
	// Lesson is printed at the end; it may use the results.
	Lesson func(res *Result) string
	// Verdict names the probe the verdict table and the journal's
	// "variants" show. Default: the last one.
	Verdict string
	// MaxUsers, when set, caps the users per variant: a scenario that
	// measures per session needs no crowd.
	MaxUsers int
}

// Claim is a row of the seed articles' comparison table (or a claim made
// elsewhere in them), with where it comes from.
type Claim struct {
	Source string `json:"source"` // e.g. "004"
	Row    string `json:"row"`    // e.g. "Fault Tolerance"
	Text   string `json:"text"`   // what the article says
}

func (c Claim) String() string { return c.Source + ": " + c.Row }

func claimsString(cs []Claim) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "; ")
}

// Step is one narrated step of a scenario.
type Step struct {
	Title string
	// Why is the narration: what is about to happen, and why.
	Why string
	Run func(r *Run) error
}

// Expectation is what one variant must show in a scenario.
type Expectation struct {
	Variant servers.Variant
	Text    string
	// Check returns whether the expectation holds and what was observed.
	Check func(res *Result) (bool, string)
}

// Tally counts the outcomes of a variant's users at one probe.
type Tally struct {
	Users       int `json:"users"`
	Kept        int `json:"kept"`
	LostSession int `json:"lost_session"`
	LostData    int `json:"lost_data"`
	Unavailable int `json:"unavailable"`
	WrongUser   int `json:"wrong_user"`
	// DetectSeconds is the mean time from a kill or stop of an instance to
	// the balancer marking it down, when the scenario ended one.
	DetectSeconds *float64 `json:"detect_seconds"`
}

func (t *Tally) add(o Outcome) {
	t.Users++
	switch o {
	case Kept:
		t.Kept++
	case LostSession:
		t.LostSession++
	case LostData:
		t.LostData++
	case Unavailable:
		t.Unavailable++
	case WrongUser:
		t.WrongUser++
	}
}

// Count returns the number of users with outcome o.
func (t Tally) Count(o Outcome) int {
	switch o {
	case Kept:
		return t.Kept
	case LostSession:
		return t.LostSession
	case LostData:
		return t.LostData
	case Unavailable:
		return t.Unavailable
	case WrongUser:
		return t.WrongUser
	}
	return 0
}

// Verdict is the outcome of every user at one probe.
type Verdict struct {
	Name string
	// Tallies count outcomes per variant.
	Tallies map[servers.Variant]*Tally
	// Outcome is each user's outcome (worst of its probes), per variant.
	Outcome map[servers.Variant]map[string]Outcome
	// Instance is the instance that answered each user's last probe.
	Instance map[servers.Variant]map[string]string
	// Requests and Failed count the probe requests and those not kept.
	Requests, Failed map[servers.Variant]int
	// Sequence is each user's outcomes, request by request.
	Sequence map[servers.Variant]map[string][]Outcome
	// ByInstance counts, per instance that answered, the probe requests
	// and those not kept.
	ByInstance map[servers.Variant]map[string]*[2]int
	// Took and Cred are each probe's latency and credential bytes.
	Took map[servers.Variant][]time.Duration
	Cred map[servers.Variant][]int
}

func newVerdict(name string) *Verdict {
	v := &Verdict{
		Name:       name,
		Tallies:    map[servers.Variant]*Tally{},
		Outcome:    map[servers.Variant]map[string]Outcome{},
		Instance:   map[servers.Variant]map[string]string{},
		Requests:   map[servers.Variant]int{},
		Failed:     map[servers.Variant]int{},
		Sequence:   map[servers.Variant]map[string][]Outcome{},
		ByInstance: map[servers.Variant]map[string]*[2]int{},
		Took:       map[servers.Variant][]time.Duration{},
		Cred:       map[servers.Variant][]int{},
	}
	for _, va := range servers.Variants {
		v.Tallies[va] = &Tally{}
		v.Outcome[va] = map[string]Outcome{}
		v.Instance[va] = map[string]string{}
		v.Sequence[va] = map[string][]Outcome{}
		v.ByInstance[va] = map[string]*[2]int{}
	}
	return v
}

// observe counts one probe answer of a user (not its final outcome).
func (v *Verdict) observe(va servers.Variant, user string, o Outcome, resp Response) {
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
func (v *Verdict) Flapped(va servers.Variant) []string {
	var out []string
	for u, seq := range v.Sequence[va] {
		state := 0 // 0: not yet kept, 1: kept, 2: kept then lost
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
func (v *Verdict) UsersOn(va servers.Variant, instance string) []string {
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
func (v *Verdict) UsersWith(va servers.Variant, o Outcome) []string {
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
func (v *Verdict) Spread(va servers.Variant) string {
	count := map[string]int{}
	for _, in := range v.Instance[va] {
		if in == "" {
			in = "none"
		}
		count[in]++
	}
	var keys []string
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, count[k]))
	}
	return strings.Join(parts, ", ")
}

// Median returns the median latency of a variant's probes.
func (v *Verdict) Median(va servers.Variant) time.Duration {
	return median(v.Took[va])
}

// Max returns the longest latency of a variant's probes.
func (v *Verdict) Max(va servers.Variant) time.Duration {
	var m time.Duration
	for _, d := range v.Took[va] {
		m = max(m, d)
	}
	return m
}

func median[T int | time.Duration](xs []T) T {
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
	Detect map[servers.Variant][]float64
	// Facts are figures a step recorded for its expectations and lesson.
	Facts map[string]any
}

// Verdict returns the verdict with this name, or the last one for "".
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
	return newVerdict(name)
}

// Plan is the deterministic part of a run: user names and the items each
// adds, from a seed. The same seed and user count give the same plan.
type Plan struct {
	Seed  uint64
	Users []PlannedUser
}

// PlannedUser is one user of the plan; each variant gets a user of that name.
type PlannedUser struct {
	Name  string
	Items []servers.Item
}

var fruits = []string{"apple", "apricot", "banana", "cherry", "date", "fig", "grape", "kiwi", "lemon", "lime", "mango", "melon", "orange", "papaya", "peach", "pear", "plum", "quince"}

// NewPlan makes the plan for n users: each adds two or three distinct items.
func NewPlan(seed uint64, n int) Plan {
	p := Plan{Seed: seed}
	width := len(fmt.Sprint(n))
	if width < 3 {
		width = 3
	}
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		k := 2 + rng.IntN(2)
		picks := rng.Perm(len(fruits))[:k]
		items := make([]servers.Item, 0, k)
		for _, f := range picks {
			items = append(items, servers.Item{Item: fruits[f], Qty: 1 + rng.IntN(5)})
		}
		p.Users = append(p.Users, PlannedUser{Name: fmt.Sprintf("user%0*d", width, i+1), Items: items})
	}
	return p
}

// Describe summarises the plan in a line or two.
func (p Plan) Describe() string {
	if len(p.Users) == 0 {
		return "no users"
	}
	first := p.Users[0]
	var items []string
	for _, it := range first.Items {
		items = append(items, fmt.Sprintf("%d × %s", it.Qty, it.Item))
	}
	return fmt.Sprintf("%d users per variant (%s to %s), seed %d; each logs in and adds 2 or 3 items, e.g. %s: %s",
		len(p.Users), first.Name, p.Users[len(p.Users)-1].Name, p.Seed, first.Name, strings.Join(items, ", "))
}

// All returns every scenario, in catalogue order.
func All() []*Scenario { return slices.Clone(catalogue) }

// Find returns the scenarios named, in the order named; "all" means every
// scenario. An unknown name is an error that lists the known ones.
func Find(names ...string) ([]*Scenario, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no scenario named: give a name or all (%s)", strings.Join(Names(), ", "))
	}
	var out []*Scenario
	for _, n := range names {
		if n == "all" {
			out = append(out, All()...)
			continue
		}
		found := false
		for _, s := range catalogue {
			if s.Name == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (known: %s, or all)", n, strings.Join(Names(), ", "))
		}
	}
	return out, nil
}

// Names lists the scenario names.
func Names() []string {
	var out []string
	for _, s := range catalogue {
		out = append(out, s.Name)
	}
	return out
}
