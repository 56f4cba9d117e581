package scenarios

import (
	"context"
	"sync"

	"statelab"
)

// Ask is one way of asking a user something and judging the answer.
type Ask func(u *User, ctx context.Context) (Outcome, Response)

// Probe asks every user who it is, times times, and records a verdict: each
// user's outcome is the worst of its answers.
func (r *Run) Probe(name string, times int) (*Verdict, error) {
	return r.ProbeOf(statelab.Variants, name, times, (*User).Probe)
}

// ReplayProbe has every user put back the credential it held before logout
// and ask who it is: kept means the old credential still works.
func (r *Run) ReplayProbe(name string) (*Verdict, error) {
	return r.ProbeOf(statelab.Variants, name, 1, (*User).Replay)
}

// ProbeOf probes the users of some variants only, with ask; the verdict has
// no users for the others.
func (r *Run) ProbeOf(variants []statelab.Variant, name string, times int, ask Ask) (*Verdict, error) {
	times = max(times, 1)
	v := newVerdict(name)
	var mu sync.Mutex
	repinned := map[statelab.Variant]int{}
	r.EachUserOf(variants, func(u *User) {
		var worst Outcome
		var last Response
		moved := false
		for i := 0; i < times; i++ {
			o, resp := ask(u, r.ctx)
			worst, last = worse(worst, o), resp
			moved = moved || resp.Repinned != ""
			mu.Lock()
			v.observe(u.Variant, u.Name, o, resp)
			mu.Unlock()
		}
		mu.Lock()
		defer mu.Unlock()
		v.Outcome[u.Variant][u.Name] = worst
		v.Instance[u.Variant][u.Name] = last.Instance
		v.Tallies[u.Variant].add(worst)
		if moved {
			repinned[u.Variant]++
		}
	})
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	for _, va := range statelab.Variants {
		if repinned[va] > 0 {
			r.Note("lb: %d %s users re-pinned (now on %s)", repinned[va], va, v.Spread(va))
		}
	}
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.obs.Probed(v)
	return v, nil
}

// ProbeDuring keeps every user probing while action runs, and records the
// worst each user saw as a verdict.
func (r *Run) ProbeDuring(name string, action func() error) (*Verdict, error) {
	v := newVerdict(name)
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	probes := map[statelab.Variant]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			r.EachUser(func(u *User) {
				o, resp := u.Probe(r.ctx)
				mu.Lock()
				defer mu.Unlock()
				probes[u.Variant]++
				v.Outcome[u.Variant][u.Name] = worse(v.Outcome[u.Variant][u.Name], o)
				v.Instance[u.Variant][u.Name] = resp.Instance
				v.observe(u.Variant, u.Name, o, resp)
			})
		}
	}()
	err := action()
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	for _, va := range statelab.Variants {
		for _, o := range v.Outcome[va] {
			v.Tallies[va].add(o)
		}
	}
	r.Note("%d probes per variant while it happened", probes[statelab.Memory])
	r.res.Verdicts = append(r.res.Verdicts, v)
	r.rn.obs.Probed(v)
	return v, nil
}
