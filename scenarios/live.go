package scenarios

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"slices"
	"sync"

	"statelab/servers"
)

// Live is what a run looks like right now, for the live page: the scenario
// and step under way, and each user's latest answer, per variant. A Runner
// with Options.Live set keeps it up to date; its Handler serves the page.
type Live struct {
	mu    sync.Mutex
	state LiveState
	index map[servers.Variant]map[string]int
}

// LiveState is the body of GET /state.
type LiveState struct {
	Runtime  string                `json:"runtime"`
	Scenario string                `json:"scenario"`
	Setup    string                `json:"setup"`
	Step     int                   `json:"step"`
	Steps    int                   `json:"steps"`
	Title    string                `json:"title"`
	Why      string                `json:"why"`
	Notes    []string              `json:"notes"`
	Variants map[string][]LiveUser `json:"variants"`
	Done     []LiveDone            `json:"done"` // scenarios finished, in order
	Tallies  map[string]Tally      `json:"tallies,omitempty"`
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
	return &Live{state: LiveState{Variants: map[string][]LiveUser{}}}
}

func (l *Live) scenario(runtime string, sc *Scenario, users map[servers.Variant][]*User) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Runtime, l.state.Scenario, l.state.Setup = runtime, sc.Name, sc.Setup
	l.state.Steps, l.state.Step, l.state.Title, l.state.Why, l.state.Notes = len(sc.Steps), 0, "", "", nil
	l.state.Tallies = nil
	l.index = map[servers.Variant]map[string]int{}
	for v, us := range users {
		list := make([]LiveUser, len(us))
		idx := map[string]int{}
		for i, u := range us {
			list[i] = LiveUser{Name: u.Name, State: "new"}
			idx[u.Name] = i
		}
		l.state.Variants[string(v)] = list
		l.index[v] = idx
	}
}

func (l *Live) step(n int, st Step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Step, l.state.Title, l.state.Why, l.state.Notes = n, st.Title, st.Why, nil
}

func (l *Live) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Notes = append(l.state.Notes, s)
}

func (l *Live) answer(v servers.Variant, user string, resp Response, o Outcome) {
	state := string(o)
	switch {
	case o != "":
	case resp.OK():
		state = "ok"
	case resp.Err != nil || resp.Status >= 500:
		state = string(Unavailable)
	default:
		state = "refused"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, ok := l.index[v][user]; ok {
		u := &l.state.Variants[string(v)][i]
		u.State = state
		if resp.Instance != "" {
			u.Instance = resp.Instance
		}
	}
}

func (l *Live) finished(rep *ScenarioReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.Done = append(l.state.Done, LiveDone{Name: rep.Name, OK: rep.OK})
	l.state.Tallies = rep.Variants
}

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
