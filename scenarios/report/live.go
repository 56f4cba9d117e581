package report

import (
	_ "embed"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"

	"statelab"
	"statelab/scenarios"
)

// Live is what a run looks like right now, for the live page: the scenario
// and step under way, and each user's latest answer, per variant. It is an
// observer of the run; its Handler serves the page.
type Live struct {
	scenarios.Base
	mu    sync.Mutex
	state LiveState
	index map[statelab.Variant]map[string]int
}

var _ scenarios.Observer = (*Live)(nil)

// LiveState is the body of GET /state.
type LiveState struct {
	Runtime  string   `json:"runtime"`
	Scenario string   `json:"scenario"`
	Setup    string   `json:"setup"`
	Step     int      `json:"step"`
	Steps    int      `json:"steps"`
	Title    string   `json:"title"`
	Why      string   `json:"why"`
	Notes    []string `json:"notes"`
	// Order is the variants, in the order the page shows them.
	Order    []string              `json:"order"`
	Variants map[string][]LiveUser `json:"variants"`
	// Answers counts, per variant, the answers each instance gave during
	// step AnswersStep, the latest step that sent requests (kept while the
	// next waits in step mode); at most 16 instances per variant.
	Answers     map[string]map[string]int `json:"answers"`
	AnswersStep int                       `json:"answers_step"`
	// Instances lists, per variant, every instance that has answered in
	// this scenario (at most 16), so that one answering nothing shows 0.
	Instances map[string][]string        `json:"instances"`
	Done      []LiveDone                 `json:"done"` // scenarios finished, in order
	Tallies   map[string]scenarios.Tally `json:"tallies,omitempty"`
}

// LiveDone is a finished scenario and whether its expectations held.
type LiveDone struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
}

// LiveUser is a user's latest answer: an outcome when it was probed, else
// "ok" or "refused" for other requests, and the instance that answered.
type LiveUser struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Instance string `json:"instance"`
}

// NewLive returns an empty live state.
func NewLive() *Live {
	order := make([]string, len(statelab.Variants))
	for i, v := range statelab.Variants {
		order[i] = string(v)
	}
	return &Live{state: LiveState{Order: order, Variants: map[string][]LiveUser{}, Answers: map[string]map[string]int{}, Instances: map[string][]string{}}}
}

// RunStarted records what the lab runs on.
func (l *Live) RunStarted(runtime string, _ scenarios.Plan, _ []*scenarios.Scenario) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Runtime = runtime
}

// ScenarioStarted shows a new scenario, every user new.
func (l *Live) ScenarioStarted(sc *scenarios.Scenario, _, _ int, users map[statelab.Variant][]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Scenario, l.state.Setup = sc.Name, sc.Setup
	l.state.Steps, l.state.Step, l.state.Title, l.state.Why, l.state.Notes = len(sc.Steps), 0, "", "", nil
	l.state.Tallies = nil
	l.state.Answers, l.state.AnswersStep = map[string]map[string]int{}, 0
	l.state.Instances = map[string][]string{}
	l.index = map[statelab.Variant]map[string]int{}
	for v, us := range users {
		list := make([]LiveUser, len(us))
		idx := map[string]int{}
		for i, name := range us {
			list[i] = LiveUser{Name: name, State: "new"}
			idx[name] = i
		}
		l.state.Variants[string(v)] = list
		l.index[v] = idx
	}
}

// StepStarted shows the step under way.
func (l *Live) StepStarted(_ *scenarios.Scenario, n int, st scenarios.Step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Step, l.state.Title, l.state.Why, l.state.Notes = n, st.Title, st.Why, nil
}

// Noted adds a note under the step.
func (l *Live) Noted(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Notes = append(l.state.Notes, s)
}

// Answered shows a user's latest answer.
func (l *Live) Answered(v statelab.Variant, user string, rq scenarios.Request, o scenarios.Outcome) {
	state := string(o)
	switch {
	case o != "":
	case rq.Status == 200 && rq.Error == "":
		state = "ok"
	case rq.Status == 0 || rq.Status >= 500:
		state = string(scenarios.Unavailable)
	default:
		state = "refused"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.AnswersStep != l.state.Step {
		l.state.Answers, l.state.AnswersStep = map[string]map[string]int{}, l.state.Step
	}
	if rq.Instance != "" {
		m := l.state.Answers[string(v)]
		if m == nil {
			m = map[string]int{}
			l.state.Answers[string(v)] = m
		}
		if _, known := m[rq.Instance]; known || len(m) < maxLiveInstances {
			m[rq.Instance]++
		}
		if in := l.state.Instances[string(v)]; !slices.Contains(in, rq.Instance) && len(in) < maxLiveInstances {
			l.state.Instances[string(v)] = append(in, rq.Instance)
		}
	}
	if i, ok := l.index[v][user]; ok {
		u := &l.state.Variants[string(v)][i]
		u.State = state
		if rq.Instance != "" {
			u.Instance = rq.Instance
		}
	}
}

// ScenarioFinished shows the verdict.
func (l *Live) ScenarioFinished(_ *scenarios.Scenario, rep *scenarios.ScenarioReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Done = append(l.state.Done, LiveDone{Name: rep.Name, OK: rep.OK})
	l.state.Tallies = rep.Variants
}

// maxLiveInstances bounds the instances counted per variant on the page.
const maxLiveInstances = 16

// Handler serves the live page (/) and its state (/state).
func (l *Live) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(livePage)
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		l.mu.Lock()
		st := l.state
		st.Variants = map[string][]LiveUser{}
		for k, v := range l.state.Variants {
			st.Variants[k] = slices.Clone(v)
		}
		st.Notes = slices.Clone(l.state.Notes)
		st.Instances = map[string][]string{}
		for v, in := range l.state.Instances {
			st.Instances[v] = slices.Clone(in)
		}
		st.Answers = map[string]map[string]int{}
		for v, m := range l.state.Answers {
			st.Answers[v] = maps.Clone(m)
		}
		st.Done = slices.Clone(l.state.Done)
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(st)
	})
	return mux
}

//go:embed live.html
var livePage []byte
