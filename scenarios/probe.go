package scenarios

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"statelab"
)

// Ask is one way of asking a user something and judging the answer.
type Ask func(u *User, ctx context.Context) (Outcome, Response)

// Probe asks every user who it is, times times, and records a verdict: each
// user's outcome is the worst of its answers.
func (r *Run) Probe(name string, times int) (*Verdict, error) {
	return r.ProbeOf(Session, statelab.Variants, name, times, (*User).Probe)
}

// ReplayProbe has the users of the variants put back the credential they
// held before logout and ask who they are: a replay probe, where refused is
// good and replay accepted bad.
func (r *Run) ReplayProbe(name string, variants ...statelab.Variant) (*Verdict, error) {
	return r.ProbeOf(Replay, variants, name, 1, (*User).Replay)
}

// ProbeOf probes the users of some variants only, with ask, as a probe of
// kind k; the verdict has no users for the others.
func (r *Run) ProbeOf(k Kind, variants []statelab.Variant, name string, times int, ask Ask) (*Verdict, error) {
	return r.probeUsers(k, r.usersOf(variants), name, times, ask)
}

// ProbeUsers asks some users only who they are: the verdict counts them
// alone.
func (r *Run) ProbeUsers(name string, users []*User) (*Verdict, error) {
	return r.probeUsers(Session, users, name, 1, (*User).Probe)
}

// ProbeUsersWith asks some users only, with ask.
func (r *Run) ProbeUsersWith(name string, users []*User, ask Ask) (*Verdict, error) {
	return r.probeUsers(Session, users, name, 1, ask)
}

func (r *Run) probeUsers(k Kind, users []*User, name string, times int, ask Ask) (*Verdict, error) {
	times = max(times, 1)
	v := newVerdict(name, k)
	var mu sync.Mutex
	r.eachOf(users, func(u *User) {
		var worst Outcome
		var last Response
		moved := false
		for i := 0; i < times; i++ {
			o, resp := ask(u, r.ctx)
			worst, last = worse(k, worst, o), resp
			moved = moved || resp.Repinned != ""
			mu.Lock()
			v.observe(u, o, resp)
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		v.Outcome[u.Variant][u.Name] = worst
		v.Instance[u.Variant][u.Name] = last.Instance
		v.Tallies[u.Variant].add(worst)
		if moved {
			v.Repinned[u.Variant]++
		}
	})
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	var moved []string
	first := statelab.Variant("")
	for _, va := range statelab.Variants {
		if n := v.Repinned[va]; n > 0 {
			moved = append(moved, fmt.Sprintf("%d %s", n, va))
			if first == "" {
				first = va
			}
		}
	}
	if len(moved) > 0 {
		r.Aside("lb: re-pinned %s users (the %d %s users are now on %s)", strings.Join(moved, ", "), len(v.Instance[first]), first, v.Spread(first))
	}
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.obs.Probed(v)
	return v, nil
}

// ProbeDuring keeps every user asking who it is while action runs, and
// records the worst each user saw as a verdict.
func (r *Run) ProbeDuring(name string, action func() error) (*Verdict, error) {
	return r.probeLoop(name, 0, action)
}

// ProbeEvery has every user ask who it is once per interval, as an active
// user would, while action runs, and records the worst each user saw.
func (r *Run) ProbeEvery(name string, interval time.Duration, action func() error) (*Verdict, error) {
	return r.probeLoop(name, interval, action)
}

// ProbeCrowd has each of the users ask who it is again and again, each in
// its own goroutine (a crowd: as many requests in flight as users), while
// action runs, and records the worst each user saw. Each user has at most
// one request in flight.
func (r *Run) ProbeCrowd(name string, users []*User, action func() error) (*Verdict, error) {
	v := newVerdict(name, Session)
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r.ctx.Err() != nil {
					return
				}
				o, resp := u.Probe(r.ctx)
				mu.Lock()
				v.Outcome[u.Variant][u.Name] = worse(Session, v.Outcome[u.Variant][u.Name], o)
				v.Instance[u.Variant][u.Name] = resp.Instance
				v.observe(u, o, resp)
				mu.Unlock()
			}
		}()
	}
	err := action()
	close(stop)
	wg.Wait()
	if err := r.endLoop(v, err); err != nil {
		return nil, err
	}
	var counts []string
	for _, va := range statelab.Variants {
		if n, _ := v.Requests(va); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, va))
		}
	}
	r.Aside("%s GET /me requests while it happened, %d users of each variant asking at once", strings.Join(counts, ", "), len(users)/len(statelab.Variants))
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.obs.Probed(v)
	return v, nil
}

// endLoop ends a probe that ran while an action did (err: the action's):
// each user's worst outcome is counted.
func (r *Run) endLoop(v *Verdict, err error) error {
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return err
	}
	for _, va := range statelab.Variants {
		for _, o := range v.Outcome[va] {
			v.Tallies[va].add(o)
		}
	}
	return nil
}

// probeLoop runs rounds of every user asking who it is, at most one round
// per pace (0: one after the other), while action runs.
func (r *Run) probeLoop(name string, pace time.Duration, action func() error) (*Verdict, error) {
	v := newVerdict(name, Session)
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	rounds := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			next := time.Now().Add(pace)
			r.EachUser(func(u *User) {
				o, resp := u.Probe(r.ctx)
				mu.Lock()
				defer mu.Unlock()
				v.Outcome[u.Variant][u.Name] = worse(Session, v.Outcome[u.Variant][u.Name], o)
				v.Instance[u.Variant][u.Name] = resp.Instance
				v.observe(u, o, resp)
			})
			rounds++
			if wait := time.Until(next); wait > 0 {
				select {
				case <-stop:
					return
				case <-time.After(wait):
				}
			}
		}
	}()
	err := action()
	close(stop)
	wg.Wait()
	if err := r.endLoop(v, err); err != nil {
		return nil, err
	}
	all, _ := v.Requests(statelab.Variants[0])
	r.Aside("%d GET /me requests per variant while it happened (%d rounds of every user)", all, rounds)
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.obs.Probed(v)
	return v, nil
}
