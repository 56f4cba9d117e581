package report

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"statelab"
	"statelab/lab"
	"statelab/lb"
)

// Follow polls, every interval until ctx ends, the balancer's view of every
// backend (up, down, why) and each instance's /stats (the sessions it
// holds), so that the live page can mark the dead instances and count what
// each holds. A balancer that does not answer is said on the page.
func (l *Live) Follow(ctx context.Context, rt lab.Runtime, every time.Duration) {
	ep := rt.Endpoints()
	client := &lb.Client{Base: ep.Admin, Token: ep.AdminToken, HTTP: &http.Client{Timeout: time.Second}}
	stats := &http.Client{Timeout: 500 * time.Millisecond}
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

func (l *Live) follow(ctx context.Context, client *lb.Client, hc *http.Client, rt lab.Runtime) {
	st, err := client.Status(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.update(func(s *LiveState) { s.Followed, s.Unfollow = false, err.Error() })
		}
		return
	}
	seen := map[string][]LiveInstance{}
	shared := map[string]string{}
	for _, p := range st.Pools {
		var list []LiveInstance
		for _, b := range p.Backends {
			if len(list) == maxLiveInstances {
				break
			}
			in := LiveInstance{Name: b.Name, State: string(b.State), Why: b.Why}
			if b.State != lb.Down {
				if s, err := lab.Stats(ctx, hc, rt.InstanceURL(b.Name)); err == nil {
					in.Sessions = &s.Sessions
					if s.Store != nil && shared[p.Name] == "" {
						shared[p.Name] = sharedLine(statelab.Variant(p.Name), s.Store.Sessions)
					}
				}
			}
			list = append(list, in)
		}
		seen[p.Name] = list
	}
	l.update(func(s *LiveState) {
		s.Followed, s.Unfollow, s.Shared = true, "", shared
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

// sharedLine says what a variant keeps outside its instances.
func sharedLine(v statelab.Variant, n int64) string {
	switch v {
	case statelab.JWT:
		return fmt.Sprintf("Redis denylist: %d revoked tokens", n)
	default:
		return fmt.Sprintf("Redis holds %d sessions, for every instance", n)
	}
}
