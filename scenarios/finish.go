package scenarios

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"statelab"
	"statelab/lb/api"
)

// The end of a run: its expectations checked, the report written.

// finish ends the scenario: with every step run (complete), its
// expectations are checked and its lesson written; else why says why not.
func (r *Run) finish(complete bool, why string) *ScenarioReport {
	for _, us := range r.Users {
		for _, u := range us {
			u.CloseLive()
		}
	}
	r.closeNetwork()
	rep := r.rep
	if !complete {
		rep.Error = why
	}
	rep.Machine = r.watch.Stop()
	for _, d := range watched(rep.Machine, r.watch.Over, r.rn.timing, r.world.redisUsers()) {
		r.busy.add(d)
	}
	rep.Seconds = time.Since(r.start).Seconds()
	rep.Events = r.rn.events.after(r.mark)
	r.unexplainedDowns(rep.Events)
	sort.SliceStable(rep.Requests, func(i, j int) bool { return rep.Requests[i].T < rep.Requests[j].T })
	if len(r.res.Verdicts) > 0 {
		rep.Variants = map[string]Tally{}
		final := r.res.Verdict(r.sc.Verdict)
		rep.Verdict = final.Name
		for _, v := range statelab.Variants {
			t := *final.Tallies[v]
			if ds := r.res.Detect[v]; len(ds) > 0 {
				m := mean(ds)
				t.DetectSeconds = &m
			}
			t.Recover, t.RecoverSeconds = r.recovery(v)
			rep.Variants[string(v)] = t
		}
		for _, vd := range r.res.Verdicts {
			vr := VerdictReport{Name: vd.Name, Kind: vd.Kind, Variants: map[string]Tally{},
				Requests: map[string]int{}, Bad: map[string]int{}, Repinned: map[string]int{}}
			for _, v := range statelab.Variants {
				vr.Variants[string(v)] = *vd.Tallies[v]
				vr.Requests[string(v)], vr.Bad[string(v)] = vd.Requests(v)
				if n := vd.Repinned[v]; n > 0 {
					vr.Repinned[string(v)] = n
				}
			}
			rep.Verdicts = append(rep.Verdicts, vr)
		}
	}
	// Timeouts no fault explains are the machine's doing only where the
	// machine was seen to be slow; on one that never was, they are the
	// lab's own failure.
	rep.Disturbances = r.busy.list(slowed(rep.Machine, r.rn.timing))
	if complete {
		rep.Expectations = r.check()
		failed, excused := 0, 0
		for i, e := range rep.Expectations {
			switch {
			case e.Holds:
			case e.Text != WrongUserCheck && touches(rep.Disturbances, e.Variant):
				// No machine, however slow, shows a user someone else's
				// session: that failure is never excused.
				rep.Expectations[i].Inconclusive = true
				excused++
			default:
				failed++
			}
		}
		rep.OK = failed+excused == 0
		rep.Inconclusive = failed == 0 && excused > 0
		if r.sc.Lesson != nil && !rep.Inconclusive {
			rep.Lesson = r.sc.Lesson(r.res) // a disturbed run's numbers teach nothing
		}
	} else if why != "" && why != interrupted && len(rep.Disturbances) > 0 {
		rep.Inconclusive = true
	}
	if rep.Inconclusive {
		rep.Busy = busyWords(rep.Disturbances)
	}
	rep.Facts = r.res.Facts
	r.look() // the lab as the scenario left it, before its verdict
	r.rn.obs.ScenarioFinished(r.sc, rep)
	return rep
}

// interrupted is why a scenario ended when its run was interrupted.
const interrupted = "interrupted"

// unexplainedDowns counts, as disturbances, the backends the balancer
// marked down because they answered too late while nothing the scenario
// did had ended them: a busy machine's doing.
func (r *Run) unexplainedDowns(events []api.Event) {
	r.world.mu.Lock()
	defer r.world.mu.Unlock()
	for _, ev := range events {
		if ev.Type != api.EventDown {
			continue
		}
		if _, ended := r.world.ended[ev.Backend]; ended {
			continue
		}
		why := strings.ToLower(ev.Reason)
		if strings.Contains(why, "timeout") || strings.Contains(why, "deadline") || strings.Contains(why, "timed out") {
			r.busy.add(Disturbance{Variant: ev.Pool, What: fmt.Sprintf("the balancer marked %s down (%s) though nothing had ended it", ev.Backend, ev.Reason)})
		}
	}
}

// The expectation every scenario has.
const (
	EveryVariant   = "every variant"
	WrongUserCheck = "shows no user someone else's session"
)

// check evaluates the scenario's expectations, that nobody ever saw another
// user's session, and that every probe they name was made.
func (r *Run) check() []ExpectationResult {
	var out []ExpectationResult
	for _, e := range r.sc.Expectations() {
		holds, observed := e.Check(r.res)
		out = append(out, ExpectationResult{Variant: string(e.Variant), Text: e.Text, Holds: holds, Observed: observed, Counts: e.Counts})
	}
	r.res.mu.Lock()
	unknown := r.res.unknown
	r.res.mu.Unlock()
	for _, name := range unknown {
		out = append(out, ExpectationResult{Variant: EveryVariant, Text: fmt.Sprintf("was probed at %q", name), Holds: false, Observed: "no probe of that name: a mistake in the scenario"})
	}
	if len(r.res.Verdicts) == 0 {
		return out
	}
	wrong := 0
	for _, v := range statelab.Variants {
		for _, vd := range r.res.Verdicts {
			wrong += vd.Tallies[v].Of(WrongUser)
		}
	}
	return append(out, ExpectationResult{Variant: EveryVariant, Text: WrongUserCheck, Holds: wrong == 0, Observed: fmt.Sprintf("%d wrong users", wrong)})
}
