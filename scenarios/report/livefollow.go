package report

import (
	"context"
	"net/http"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/lab"
)

// Follow polls, every interval until ctx ends, the balancer's view of every
// backend (up, down, why) and each memory instance's /stats (the sessions
// it holds), so that the live page can mark the dead instances and count
// what each holds. Only the memory instances are asked: their /stats reads
// their own memory, where another variant's would query Redis and add to
// the traffic a scenario measures (the balancer's own count, from health
// checks, may be a check old). A balancer that does not answer is said on
// the page. Once a scenario has ended, one more reading is taken and kept
// under its verdict (LiveFinished.AsOf), and nothing is asked until the
// next scenario starts.
func (l *Live) Follow(ctx context.Context, rt lab.Runtime, every time.Duration) {
	ep := rt.Endpoints()
	client := &api.Client{Base: ep.Admin, Token: ep.AdminToken, HTTP: &http.Client{Timeout: time.Second}}
	stats := &http.Client{Timeout: 500 * time.Millisecond}
	l.mu.Lock()
	l.look = func(ctx context.Context) { l.follow(ctx, client, stats, rt) }
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.look = nil
		l.mu.Unlock()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		l.follow(ctx, client, stats, rt)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Live) follow(ctx context.Context, client *api.Client, hc *http.Client, rt lab.Runtime) {
	l.mu.Lock()
	frozen := l.state.kept()
	l.mu.Unlock()
	if frozen {
		return // nothing to ask until the next scenario starts
	}
	st, err := client.Status(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.update(func(s *LiveState) {
				if !s.kept() {
					s.Followed, s.Unfollow = false, err.Error()
				}
			})
		}
		return
	}
	seen := map[string][]LiveInstance{}
	for _, p := range st.Pools {
		var list []LiveInstance
		for _, b := range p.Backends {
			if len(list) == maxLiveInstances {
				break
			}
			in := LiveInstance{Name: b.Name, State: string(b.State), Tone: b.State.Tone(), Why: b.Why}
			if b.State != api.Down && statelab.Variant(p.Name).Describe().DiesWithProcess() { // only its instances hold sessions
				if s, err := lab.Stats(ctx, hc, rt.InstanceURL(b.Name)); err == nil {
					in.Sessions = &s.Sessions
				}
			}
			list = append(list, in)
		}
		seen[p.Name] = list
	}
	l.update(func(s *LiveState) {
		if s.kept() {
			return // the lab as the scenario left it is on the page
		}
		if f := s.Finished; f != nil && f.Name == s.Scenario {
			f.AsOf = time.Now().Format("15:04:05")
		}
		s.Followed, s.Unfollow = true, ""
		for v, list := range seen {
			answers := map[string]int{}
			for _, in := range s.Instances[v] {
				answers[in.Name] = in.Answers
			}
			for i := range list {
				list[i].Answers = answers[list[i].Name]
			}
			s.Instances[v] = list
		}
	})
}

// kept reports that the scenario on the page has ended and the first
// reading after its end is kept under its verdict.
func (s *LiveState) kept() bool {
	f := s.Finished
	return f != nil && f.Name == s.Scenario && f.AsOf != ""
}
