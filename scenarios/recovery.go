package scenarios

import (
	"fmt"
	"net/http"
	"time"

	"statelab"
)

// How long the users of a variant took to be served again after a fault:
// the recovery column of the verdict table.

// Recovery words.
const (
	NoneFailed    = "none failed"       // no request failed after the fault
	LogInAgain    = "log in again"      // a session was destroyed and its user not served again: it must log in again
	StillBad      = "still "            // + an outcome word: some user was not served at the end, nothing destroyed
	OnceFixed     = "once fixed, "      // + a time: some user was served again only after a step undid the fault
	LoggedInAgain = "logged in again, " // + a time: some user was served again only after logging in again
	afterFault    = " after the fault"
)

// recovery is how long the users of variant v took to be served again
// after a fault: for each run of failures of a user after a fault (a probe
// not kept, a request answered 5xx or not at all), the time from the last
// fault before it (the end of one of v's instances, or anything Run.Fault
// marks) until the user was served again (a probe kept, a request
// answered 200); the longest of them. NoneFailed when none failed;
// LogInAgain when a session was destroyed and its user was not served
// again; "still refused" (or another outcome) when some user was not
// served at the end though nothing was destroyed; "once fixed, 0.67 s
// after the fault" when a user was served again only after a step undid
// the fault (Run.Fixed; starting again an instance the scenario ended
// does); "logged in again, 1.2 s after the fault" when a user whose
// session was destroyed was served again after a new login; "" when the
// scenario has no fault, or no probe after it.
func (r *Run) recovery(v statelab.Variant) (string, *float64) {
	first := r.world.firstFault(v)
	if first.IsZero() {
		return "", nil
	}
	from := first.Sub(r.start).Seconds()
	fixed := -1.0
	if t := r.world.fixedAt(); !t.IsZero() {
		fixed = t.Sub(r.start).Seconds()
	}
	at := func(t float64) time.Time { return r.start.Add(time.Duration(t * float64(time.Second))) }
	type course struct {
		since, lastBad float64 // the current run of failures: its first and last; -1: none
		last           Outcome // the outcome of its last probe
		lost           bool    // a probe of this run found the session gone
		probed         bool
	}
	longest, byFix, byLogin := -1.0, false, false
	users := map[string]*course{}
	for _, rq := range r.rep.Requests {
		if rq.Variant != string(v) || rq.T < from {
			continue
		}
		probe := rq.Path == "/me" && rq.Outcome != ""
		var good, bad bool
		switch {
		case probe:
			good, bad = Outcome(rq.Outcome) == Kept, Outcome(rq.Outcome) != Kept
		case rq.Outcome == "":
			good, bad = rq.Status == http.StatusOK, rq.Status == 0 || rq.Status >= 500
		}
		c := users[rq.User]
		if c == nil {
			c = &course{since: -1, lastBad: -1}
			users[rq.User] = c
		}
		if probe {
			c.probed, c.last = true, Outcome(rq.Outcome)
		}
		switch {
		case bad:
			if c.since < 0 {
				c.since = rq.T
			}
			c.lastBad = rq.T
			c.lost = c.lost || (probe && c.last == Lost)
		case good && c.since >= 0:
			f := r.world.faultBefore(v, at(c.since)).Sub(r.start).Seconds()
			longest = max(longest, rq.T-f)
			byFix = byFix || (fixed >= 0 && c.lastBad < fixed && rq.T >= fixed)
			byLogin = byLogin || c.lost
			c.since, c.lastBad, c.lost = -1, -1, false
		}
	}
	probed := false
	var still Outcome
	for _, c := range users {
		probed = probed || c.probed
		if c.since < 0 {
			continue
		}
		o := c.last
		if o == "" || o == Kept {
			o = Unavailable // its last request failed, and no probe came after
		}
		still = worse(Session, still, o)
	}
	if !probed {
		return "", nil
	}
	switch {
	case still == Lost:
		return LogInAgain, nil
	case still != "":
		return StillBad + still.Word(), nil
	case longest < 0:
		zero := 0.0
		return NoneFailed, &zero
	case byLogin:
		return LoggedInAgain + Seconds(longest) + afterFault, &longest
	case byFix:
		return OnceFixed + Seconds(longest) + afterFault, &longest
	}
	return Seconds(longest), &longest
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Millis says a latency given in milliseconds at the precision a run can
// give: whole microseconds below a millisecond ("850 µs"), else
// milliseconds to one decimal ("4.2 ms"); never "0.0 ms".
func Millis(ms float64) string {
	if ms < 1 {
		return fmt.Sprintf("%d µs", int(ms*1000+0.5))
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// Plural says a count with its noun: "1 user", "3 users" (the noun's
// plural is noun+"s").
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
