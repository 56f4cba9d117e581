package scenarios

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"statelab"
	"statelab/internal/machine"
)

func items(kv ...any) []statelab.Item {
	var out []statelab.Item
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, statelab.Item{Item: kv[i].(string), Qty: kv[i+1].(int)})
	}
	return out
}

// TestCompareCarts: a cart is kept, duplicated or short exactly as the
// changes sent and answered say; a change answered with an error that the
// instance applied anyway is kept, never a duplicate.
func TestCompareCarts(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		want, got, uncertain []statelab.Item
		o                    Outcome
		applied              []statelab.Item
		cause                string
	}{
		{name: "same", want: items("apple", 1), got: items("apple", 1), o: Kept},
		{name: "empty", want: []statelab.Item{}, got: nil, o: Kept},
		{name: "applied, answered 503", want: items("apple", 1), got: items("apple", 1, "fig", 2), uncertain: items("fig", 2),
			o: Kept, applied: items("fig", 2), cause: "fig ×2, sent in a request answered with an error"},
		{name: "applied before a later change", want: items("apple", 1, "kiwi", 1), got: items("apple", 1, "fig", 2, "kiwi", 1), uncertain: items("fig", 2),
			o: Kept, applied: items("fig", 2)},
		{name: "two of three unanswered applied", want: items("apple", 1), got: items("apple", 4), uncertain: items("apple", 1, "apple", 2, "apple", 5),
			o: Kept, applied: items("apple", 1, "apple", 2)},
		{name: "more than the unanswered explain", want: items("apple", 1), got: items("apple", 1, "fig", 3), uncertain: items("fig", 2),
			o: Duplicated, cause: "the cart holds fig ×3 more than the user added"},
		{name: "twice, nothing unanswered", want: items("apple", 1), got: items("apple", 2), o: Duplicated, cause: "apple ×1 more"},
		{name: "short", want: items("apple", 1, "fig", 1), got: items("apple", 1), o: LostData, cause: "the cart lacks fig"},
		{name: "short, whatever else", want: items("apple", 1), got: items("fig", 1), uncertain: items("fig", 1), o: LostData},
		{name: "reordered", want: items("apple", 1, "fig", 1), got: items("fig", 1, "apple", 1), o: LostData, cause: "another order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, cause, applied := compareCarts(tc.want, tc.got, tc.uncertain)
			if o != tc.o || !slices.Equal(applied, tc.applied) || !strings.Contains(cause, tc.cause) {
				t.Errorf("compareCarts = %s, %q, %v; want %s, %q, %v", o, cause, applied, tc.o, tc.cause, tc.applied)
			}
		})
	}
}

// user is a virtual user for judging answers, with no server behind it.
func testUser() *User {
	u, err := NewUser(statelab.Redis, "alice", nil, "http://127.0.0.1:1", nil, nil, nil)
	if err != nil {
		panic(err)
	}
	u.cart = []statelab.Item{}
	return u
}

// TestChangesSentTwice: a change answered 502 and sent again (a retry) is
// the same change twice: a cart holding it twice is duplicated. One
// answered 503 and never sent again that the instance applied is kept.
func TestChangesSentTwice(t *testing.T) {
	fig := statelab.Item{Item: "fig", Qty: 1}
	ok := Response{Status: http.StatusOK}
	cut := Response{Status: http.StatusBadGateway}

	u := testUser()
	u.sent(fig, cut)
	u.sent(fig, ok) // the retry
	r := Response{Status: http.StatusOK, Body: statelab.Body{User: "alice", Cart: items("fig", 2)}}
	if o := u.judge(&r); o != Duplicated {
		t.Errorf("retried and applied twice: %s (%s)", o, r.Cause)
	}

	u = testUser()
	u.sent(fig, Response{Status: http.StatusServiceUnavailable})
	u.sent(statelab.Item{Item: "kiwi", Qty: 1}, ok)
	r = Response{Status: http.StatusOK, Body: statelab.Body{User: "alice", Cart: items("fig", 1, "kiwi", 1)}}
	if o := u.judge(&r); o != Kept || !strings.Contains(r.Cause, "applied it before that answer") {
		t.Errorf("applied though answered 503: %s (%s)", o, r.Cause)
	}
	// Adopted: the next answer with the same cart is plainly kept.
	r = Response{Status: http.StatusOK, Body: statelab.Body{User: "alice", Cart: items("fig", 1, "kiwi", 1)}}
	if o := u.judge(&r); o != Kept || r.Cause != "" {
		t.Errorf("the same cart again: %s (%s)", o, r.Cause)
	}

	u = testUser()
	u.sent(fig, cut)
	u.sent(fig, cut) // its retry, unanswered too
	r = Response{Status: http.StatusOK, Body: statelab.Body{User: "alice", Cart: items("fig", 2)}}
	if o := u.judge(&r); o != Duplicated {
		t.Errorf("a change and its retry both unanswered, both applied: %s (%s), want duplicated", o, r.Cause)
	}
}

// gone is a world where every session is gone.
type gone struct{}

func (gone) Gone(*User) string { return "memory-2, the only instance that held it, ended" }

// TestLoginFailedIsUnavailable: a user whose login failed has no session:
// its 401 is unavailable, with the login's failure as the cause, never
// refused or lost, even where sessions were destroyed.
func TestLoginFailedIsUnavailable(t *testing.T) {
	u := testUser()
	u.world = gone{}
	u.noLogin = "its login failed: 503 session store unavailable: redis: i/o timeout (263 ms)"
	r := Response{Status: http.StatusUnauthorized, Body: statelab.Body{Error: "no session"}}
	if o := u.judge(&r); o != Unavailable || !strings.Contains(r.Cause, "its login failed: 503") {
		t.Errorf("401 after a failed login: %s (%s)", o, r.Cause)
	}
	u.noLogin = ""
	r = Response{Status: http.StatusUnauthorized}
	if o := u.judge(&r); o != Lost || r.Gone == "" {
		t.Errorf("401 after a kill: %s (%s)", o, r.Cause)
	}
}

// TestTimedOut: what counts as a timeout, and what does not.
func TestTimedOut(t *testing.T) {
	for _, tc := range []struct {
		r    Response
		want bool
	}{
		{Response{Err: context.DeadlineExceeded}, true},
		{Response{Err: errors.New("dial tcp: connection refused")}, false},
		{Response{Status: 504}, true},
		{Response{Status: 503, Body: statelab.Body{Error: "session store unavailable: redis: i/o timeout"}}, true},
		{Response{Status: 503, Body: statelab.Body{Error: "session store unavailable: redis: connection refused"}}, false},
		{Response{Status: 502, Body: statelab.Body{Error: "the backend closed the connection"}}, false},
		{Response{Status: 401, Body: statelab.Body{Error: "timeout"}}, false},
	} {
		if got := TimedOut(tc.r); got != tc.want {
			t.Errorf("TimedOut(%+v) = %v", tc.r, got)
		}
	}
}

// TestInjected: an answer is explained by the fault the scenario injected,
// and only by one that can cause it.
func TestInjected(t *testing.T) {
	w := newWorld(time.Second)
	store := Response{Status: 503, Instance: "redis-1", Body: statelab.Body{Error: "session store unavailable: redis: i/o timeout"}}
	lbAnswer := Response{Status: 502}
	if got := w.Injected(statelab.Redis, store); got != "" {
		t.Errorf("nothing injected: %q", got)
	}
	w.latency = 500 * time.Millisecond
	if got := w.Injected(statelab.Redis, store); got != "" {
		t.Errorf("a delay within the timeout explains a timeout: %q", got)
	}
	w.latency = 1400 * time.Millisecond
	if got := w.Injected(statelab.Redis, store); !strings.Contains(got, "past the 1.0 s the instances wait") {
		t.Errorf("a delay past the timeout: %q", got)
	}
	w.latency = 0
	w.redisDown = true
	if got := w.Injected(statelab.Redis, store); got != "Redis was stopped by the scenario" {
		t.Errorf("Redis stopped: %q", got)
	}
	if got := w.Injected(statelab.Redis, lbAnswer); got != "" {
		t.Errorf("the balancer's 502 is not Redis's doing: %q", got)
	}
	w.end("jwt-2", "killed")
	if got := w.Injected(statelab.JWT, lbAnswer); got != "jwt-2 ended by the scenario" {
		t.Errorf("the balancer's 502 with jwt-2 killed: %q", got)
	}
	if got := w.Injected(statelab.Memory, lbAnswer); got != "" {
		t.Errorf("memory's 502 with jwt-2 killed: %q", got)
	}
}

// TestDerive: a quiet machine gets the floors; a slow one, headroom over
// what it measured.
func TestDerive(t *testing.T) {
	quiet := Derive(machine.Reading{RedisP99: 200 * time.Microsecond, WakeP99: 400 * time.Microsecond})
	if quiet.StoreTimeout != time.Second || quiet.Lifetime != 4*time.Second || quiet.Patience != 1 {
		t.Errorf("a quiet machine: %+v", quiet)
	}
	slow := Derive(machine.Reading{RedisP99: 120 * time.Millisecond, WakeP99: 30 * time.Millisecond})
	if slow.StoreTimeout != 2400*time.Millisecond || slow.Lifetime != 12*time.Second || slow.Patience != 10 {
		t.Errorf("a slow machine: %+v", slow)
	}
	twoSlow := func(time.Duration) (int, int) { return 2, 0 }
	ds := watched(machine.Reading{RedisN: 9, RedisMax: 438 * time.Millisecond, RedisP99: 12 * time.Millisecond}, twoSlow, Timing{StoreTimeout: 300 * time.Millisecond},
		[]statelab.Variant{statelab.Redis, statelab.JWT})
	if len(ds) != 2 || ds[0].Variant != "redis" || ds[1].Variant != "jwt" ||
		ds[0].What != "redis: Redis was slower than half the 300 ms the instances wait in 2 PINGs of 9 (the slowest 438 ms)" {
		t.Errorf("a Redis past half the timeout, with redis and jwt using it: %+v", ds)
	}
	ds = watched(machine.Reading{RedisN: 9, WakeN: 9, WakeMax: 700 * time.Millisecond}, func(time.Duration) (int, int) { return 0, 1 }, quiet, []statelab.Variant{statelab.Redis})
	if len(ds) != 1 || ds[0].Variant != "" || !strings.Contains(ds[0].What, "woke more than half the 1.0 s the instances wait for Redis late 1 time of 9") {
		t.Errorf("a late wake-up touches every variant: %+v", ds)
	}
	if ds := watched(machine.Reading{RedisN: 9, RedisMax: 333 * time.Millisecond, WakeMax: 20 * time.Millisecond}, twoSlow, quiet, []statelab.Variant{statelab.Redis}); len(ds) != 0 {
		t.Errorf("a third of a second, with the instances waiting a second, disturbed: %+v", ds)
	}
	if slowed(machine.Reading{RedisMax: 3 * time.Millisecond, WakeMax: 2 * time.Millisecond}, quiet) {
		t.Error("a quiet machine counted as slow: its timeouts would be excused")
	}
	if !slowed(machine.Reading{RedisMax: 400 * time.Millisecond}, quiet) {
		t.Error("a Redis 400 ms late, with the instances waiting 1 s, not counted as slow")
	}
}

// recoveryOf runs recovery over made-up requests, with faults at the
// given seconds and a fix at fixed (negative: none).
func recoveryOf(t *testing.T, faults []float64, fixed float64, rqs ...Request) string {
	t.Helper()
	start := time.Now().Add(-time.Hour)
	r := &Run{start: start, world: newWorld(time.Second), rep: &ScenarioReport{Requests: rqs}}
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	for _, f := range faults {
		r.world.faults = append(r.world.faults, fault{at: at(f)})
	}
	if fixed >= 0 {
		r.world.fixed = at(fixed)
	}
	words, _ := r.recovery(statelab.Redis)
	return words
}

func probeAt(tm float64, user string, o Outcome) Request {
	return Request{T: tm, Variant: "redis", User: user, Method: "GET", Path: "/me", Status: 200, Outcome: string(o)}
}

func writeAt(tm float64, user string, status int) Request {
	return Request{T: tm, Variant: "redis", User: user, Method: "POST", Path: "/cart", Status: status}
}

// TestRecovery: the recover column says exactly how users were served
// again, counted from the fault before their failures.
func TestRecovery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []float64
		fixed  float64
		rqs    []Request
		want   string
	}{
		{"no fault", nil, -1, []Request{probeAt(1, "a", Unavailable)}, ""},
		{"none failed", []float64{1}, -1, []Request{probeAt(1.1, "a", Kept)}, NoneFailed},
		{"by itself", []float64{1}, -1, []Request{probeAt(1.1, "a", Unavailable), probeAt(1.3, "a", Kept), probeAt(1.4, "b", Kept)}, "300 ms"},
		{"a write answered 502, then its retry", []float64{1}, -1, []Request{writeAt(1.05, "a", 502), writeAt(1.25, "a", 200), probeAt(1.5, "a", Kept)}, "250 ms"},
		{"only once fixed", []float64{1}, 1.5, []Request{probeAt(1.1, "a", Unavailable), probeAt(1.6, "a", Kept)}, OnceFixed + "600 ms" + afterFault},
		{"lost, not served since", []float64{1}, -1, []Request{probeAt(1.1, "a", Lost)}, LogInAgain},
		{"lost, then a new login", []float64{1}, -1, []Request{probeAt(1.1, "a", Lost), {T: 1.2, Variant: "redis", User: "a", Path: "/login", Status: 200}, probeAt(1.4, "a", Kept)}, LoggedInAgain + "200 ms" + afterFault},
		{"still refused", []float64{1}, -1, []Request{probeAt(1.1, "a", Refused), probeAt(1.2, "a", Refused)}, StillBad + "refused"},
		{"last request failed, no probe since", []float64{1}, -1, []Request{probeAt(1.1, "a", Kept), writeAt(1.2, "a", 503)}, StillBad + "unavailable"},
		{"each failure from its own fault", []float64{1, 5}, -1, []Request{
			probeAt(1.1, "a", Unavailable), probeAt(1.2, "a", Kept),
			probeAt(5.1, "b", Unavailable), probeAt(5.3, "b", Kept)}, "300 ms"},
		{"requests before the first fault do not count", []float64{2}, -1, []Request{probeAt(1, "a", Unavailable), probeAt(2.5, "a", Kept)}, NoneFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := recoveryOf(t, tc.faults, tc.fixed, tc.rqs...); got != tc.want {
				t.Errorf("recovery = %q, want %q", got, tc.want)
			}
		})
	}
}
