package scenarios

import (
	"context"
	"net/http"
	"sync"
	"time"

	"statelab"
	"statelab/internal/parallel"
	"statelab/lab"
	"statelab/lb/api"
)

// Reading is the lab's instances as the run knew them at one moment: the
// balancer's view of each (up, down, why), corrected by what the scenario
// did itself (an instance it killed is down from the kill, before the
// balancer notices), and the sessions each memory instance holds, read
// from its own /stats. A whole reading lists every instance; another
// lists only those that changed. Readings are events of the run like any
// other: the live page draws the instances from them and nothing else.
type Reading struct {
	At        time.Time       `json:"at"`
	Whole     bool            `json:"whole,omitempty"`
	Instances []InstanceState `json:"instances"`
	// Unread, on a whole reading, says why the balancer could not be
	// read: the instances are then as the last reading left them.
	Unread string `json:"unread,omitempty"`
}

// InstanceState is one instance in a reading.
type InstanceState struct {
	Variant string `json:"variant"`
	Name    string `json:"name"`
	// State is the balancer's word (up, down, draining, disabled), or
	// removed: the instance left its pool.
	State string `json:"state"`
	Tone  string `json:"tone,omitempty"` // good, warn, bad
	Why   string `json:"why,omitempty"`
	// Sessions the instance holds itself (nil: not asked, or no answer).
	Sessions *int64 `json:"sessions,omitempty"`
}

// Removed is the state of an instance that left its pool.
const Removed = "removed"

// StoreRow is the "variant" of a reading about the shared Redis itself:
// the scenario stopped it (state "stopped") or started it ("started").
const StoreRow = "store"

// maxReadInstances bounds the instances a reading lists per variant.
const maxReadInstances = 16

// reader takes readings of a lab: the balancer's status and each memory
// instance's /stats, each within a second.
type reader struct {
	rt    lab.Runtime
	lb    *api.Client
	stats *http.Client
}

func newReader(rt lab.Runtime, lb *api.Client) *reader {
	return &reader{rt: rt, lb: lb, stats: &http.Client{Timeout: time.Second}}
}

// read takes a whole reading; down, when set, says which instances the
// scenario ended and has not started again, and why.
func (rd *reader) read(ctx context.Context, down func(name string) string) Reading {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := rd.lb.Status(ctx)
	if err != nil {
		return Reading{At: time.Now().UTC(), Whole: true, Unread: "the balancer did not answer: " + err.Error()}
	}
	r := Reading{At: time.Now().UTC(), Whole: true}
	var ask []int // the memory instances up: their /stats
	for _, p := range st.Pools {
		n := 0
		for _, b := range p.Backends {
			if n == maxReadInstances {
				break
			}
			n++
			in := InstanceState{Variant: p.Name, Name: b.Name, State: string(b.State), Tone: b.State.Tone(), Why: b.Why}
			if why := down(b.Name); why != "" && b.State != api.Down {
				in.State, in.Tone, in.Why = string(api.Down), api.Down.Tone(), why+"; the balancer has not marked it down yet"
			}
			if in.State != string(api.Down) && statelab.Variant(p.Name).Describe().DiesWithProcess() {
				ask = append(ask, len(r.Instances))
			}
			r.Instances = append(r.Instances, in)
		}
	}
	var mu sync.Mutex
	_ = parallel.Do(ask, func(i int) error {
		s, err := lab.Stats(ctx, rd.stats, rd.rt.InstanceURL(r.Instances[i].Name))
		if err == nil {
			mu.Lock()
			r.Instances[i].Sessions = &s.Sessions
			mu.Unlock()
		}
		return nil
	})
	return r
}

// eventReading is what a balancer event changes of the instances, if
// anything: the backend it names, in its new state.
func eventReading(ev api.Event) (Reading, bool) {
	in := InstanceState{Variant: ev.Pool, Name: ev.Backend, Why: ev.Reason}
	switch ev.Type {
	case api.EventDown:
		in.State = string(api.Down)
	case api.EventUp:
		in.State = string(api.Up)
	case api.EventDrain:
		in.State = string(api.Draining)
	case api.EventDisable:
		in.State = string(api.Disabled)
	case api.EventRemoved:
		in.State = Removed
	default:
		return Reading{}, false // added or enabled: its checks say next
	}
	if ev.Backend == "" {
		return Reading{}, false
	}
	in.Tone = api.State(in.State).Tone()
	return Reading{At: ev.Time.UTC(), Instances: []InstanceState{in}}, true
}

// Watch tells obs the lab's instances until ctx ends, as a run does
// between its steps: a whole reading at once and every every (while
// paused reports false), and each balancer event's change as it comes.
// It is what lab up's live page shows while no run holds the lab.
func Watch(ctx context.Context, rt lab.Runtime, obs Observer, every time.Duration, paused func() bool) error {
	ep := rt.Endpoints()
	client := &api.Client{Base: ep.Admin, Token: ep.AdminToken, HTTP: &http.Client{Timeout: 2 * time.Second}}
	rd := newReader(rt, client)
	stream, err := (&api.Client{Base: ep.Admin, Token: ep.AdminToken}).Events(ctx, -1)
	if err != nil {
		return err
	}
	none := func(string) string { return "" }
	t := time.NewTicker(every)
	defer t.Stop()
	if !paused() {
		obs.Instances(rd.read(ctx, none))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-stream:
			if !ok {
				return nil
			}
			if r, ok := eventReading(ev); ok && !paused() {
				obs.Instances(r)
			}
		case <-t.C:
			if !paused() {
				obs.Instances(rd.read(ctx, none))
			}
		}
	}
}
