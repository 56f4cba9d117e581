package catalog

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"statelab"
	"statelab/internal/poll"
	"statelab/lab"
	"statelab/lb/api"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// The figures of redis-failover.
const (
	// failoverLink is the replication link's latency: the primary
	// acknowledges a write this long before the replica can have it.
	failoverLink = 300 * time.Millisecond
	// failoverWait is how long an instance WAITs for the replica to
	// acknowledge a session write, in the second round.
	failoverWait = 2 * time.Second
	// failoverPoll is how long the scenario waits, after each answer, to
	// ask Sentinel again, and a user the site, during a failover.
	failoverPoll = 20 * time.Millisecond
)

// The probes and rounds of redis-failover.
const (
	failoverBefore   = "before the link stalls"
	failoverAfter    = "after the failover"
	failoverWaitText = "after the failover, with WAIT"
)

// claimReplicated is 004's word on where state goes.
var claimReplicated = scenarios.Claim{Source: "004", Row: "Frequently Asked Questions",
	Text: `"Any state that genuinely needs to persist between requests, such as user data or application data, is stored in dedicated databases or caches that are themselves designed for durability and replication."`}

// redisFailover: Redis as a primary, a replica and three Sentinels. The
// link to the replica stalls while users write and log in; the primary
// dies; Sentinel promotes the replica, which never had those writes:
// every one of them was answered 200 and is gone. With WAIT 1 after each
// session write, none is acknowledged before the replica has it.
var redisFailover = &scenarios.Scenario{
	Name:    "redis-failover",
	Summary: "Redis with a replica and Sentinel: the primary dies with writes its replica never got, and redis loses exactly those, each answered 200; with WAIT, none is lost, and writes wait for the replica",
	Setup: fmt.Sprintf("memory sticky, the others round-robin; a primary, one replica whose link adds %s, three Sentinels; the link stalls while half the users write and the other half log in, then the primary is SIGKILLed; again with WAIT 1 (up to %s) after each session write",
		scenarios.Seconds(failoverLink.Seconds()), scenarios.Seconds(failoverWait.Seconds())),
	Claims:   []scenarios.Claim{claimReplicated, claimExternalized},
	Needs:    []lab.Capability{lab.Replicas},
	MaxUsers: 10,
	Steps: []scenarios.Step{
		{
			Title: "route memory with affinity, the others round-robin",
			Why:   "Memory needs affinity; redis, jwt and cookie can go anywhere.",
			Run:   func(r *scenarios.Run) error { return r.SetPolicyFor(inProcess, api.Sticky) },
		},
		{
			Title: "Redis becomes a primary, a replica and three Sentinels; the redis instances find the primary through Sentinel",
			Why: fmt.Sprintf("Replication in Redis is asynchronous: the primary answers a write, then sends it to the replica. The link here adds %s, so the replica is always a little behind. "+
				"Memory, jwt and cookie keep no session in Redis (jwt's denylist is off here): they are left as they are.", scenarios.Seconds(failoverLink.Seconds())),
			Run: func(r *scenarios.Run) error { return replicate(r, lab.Settings{}, "") },
		},
		{
			Title: "half the users log in and fill their carts; the replica catches up",
			Why: "Every session write is answered by the primary alone. Redis counts replication in bytes: the primary's offset is how much of its stream of writes it has sent, the replica's how much it has applied. " +
				"The scenario reads both until the replica has applied all of it.",
			Run: func(r *scenarios.Run) error { return fillAndCatchUp(r, "") },
		},
		{
			Title: "check that every user who logged in is served",
			Why:   "A baseline.",
			Run: func(r *scenarios.Run) error {
				_, err := r.ProbeUsers(failoverBefore, half(r, 0))
				return err
			},
		},
		{
			Title: "the link to the replica stalls: each of these users adds one item, and the other half log in",
			Why: "As a congested or cut link would, the link holds back everything the primary sends the replica. The primary, which does not wait for its replica, goes on answering writes. " +
				"Which writes the replica lacks is now known exactly: those acknowledged after the stall began.",
			Run: func(r *scenarios.Run) error { return writeWhileStalled(r, "") },
		},
		{
			Title: "SIGKILL the primary; Sentinel promotes the replica",
			Why:   "What the link held back dies with the primary. The Sentinels agree it is down and promote the replica; the instances follow Sentinel to it.",
			Run:   func(r *scenarios.Run) error { return killPrimary(r, "", failoverAfter) },
		},
		{
			Title: fmt.Sprintf("again, with WAIT 1 after each session write (up to %s)", scenarios.Seconds(failoverWait.Seconds())),
			Why: "A new primary and replica; the redis instances restart with --redis-wait: after each session write, WAIT 1 blocks until one replica has it. " +
				"A write the replica has not acknowledged in time is answered 503, not 200. The first half's redis users log in again, on the new primary; the others sit this round out.",
			Run: func(r *scenarios.Run) error {
				if err := replicate(r, lab.Settings{RedisWait: failoverWait}, " with WAIT"); err != nil {
					return err
				}
				return fillAndCatchUp(r, " with WAIT")
			},
		},
		{
			Title: "the link stalls again; the same users add one item each",
			Why:   "No replica can acknowledge anything now: each write is to wait for it, up to the WAIT timeout, then be refused.",
			Run:   func(r *scenarios.Run) error { return writeWhileStalled(r, " with WAIT") },
		},
		{
			Title: "SIGKILL the primary again; Sentinel promotes the replica",
			Why:   "The same failover. With WAIT, a write is answered 200 only once the replica has it: the probe checks that nothing the users were told was saved is missing.",
			Run:   func(r *scenarios.Run) error { return killPrimary(r, " with WAIT", failoverWaitText) },
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if !d.DiesWithStore() {
			return []scenarios.Expectation{vocab.KeepsAll(v, failoverAfter), vocab.KeepsAll(v, failoverWaitText)}
		}
		return []scenarios.Expectation{losesUnreplicated(v, ""), losesUnreplicated(v, " with WAIT"), waitLosesNothing(v)}
	},
	Expect:     []scenarios.Expectation{promoted()},
	Verdict:    failoverAfter,
	Highlights: []string{failoverBefore, failoverAfter, failoverWaitText},
	Lesson:     failoverLesson,
}

// failoverFacts is what one round of redis-failover did to the redis
// variant.
type failoverFacts struct {
	// Writes and Logins are those the users sent while the link stalled;
	// AckedWrites and AckedLogins those answered 200.
	Writes, AckedWrites, Logins, AckedLogins int
	// Refused are the writes and logins answered 503 while it stalled,
	// RefusedMs the median time one took; RefusedBack counts the users
	// whose refused write was in their cart after the failover (the
	// primary applied it before it was refused).
	Refused     int
	RefusedMs   float64
	RefusedBack int
	// PrimaryOffset and ReplicaOffset are Redis's replication offsets
	// just before the kill: what the primary had sent, what the replica
	// had applied.
	PrimaryOffset, ReplicaOffset int64
	// Predicted is each redis user's outcome, as what was acknowledged
	// after the stall began says it must be.
	Predicted map[string]scenarios.Outcome
	// PromotedMs is from the kill until a Sentinel named the replica;
	// UnservedMs from the kill until a redis user was served again by
	// every instance; Failed counts that user's answers meanwhile that
	// were not 200.
	PromotedMs, UnservedMs float64
	Failed                 int
	// ReplicaPromoted says the Sentinels named the replica the primary.
	ReplicaPromoted bool
	// WriteMs is the median POST /cart of the redis users as they filled
	// their carts, before the stall.
	WriteMs float64
	// LagMs is from the last write of the fill until the replica's offset
	// reached the primary's: the link's latency and the polling.
	LagMs float64
}

func roundOf(r *scenarios.Run, round string) *failoverFacts {
	f, _ := r.Result().Facts["failover"+round].(*failoverFacts)
	if f == nil {
		f = &failoverFacts{}
		r.Fact("failover"+round, f)
	}
	return f
}

func factsOf(res *scenarios.Result, round string) *failoverFacts {
	f, _ := res.Facts["failover"+round].(*failoverFacts)
	if f == nil {
		return &failoverFacts{}
	}
	return f
}

// replicate starts the replicated Redis with s for the redis instances.
func replicate(r *scenarios.Run, s lab.Settings, round string) error {
	rep, err := r.Replicate(failoverLink, s)
	if err != nil {
		return err
	}
	r.Aside("%s", rep.Describe())
	if s.RedisWait > 0 {
		r.Aside("the redis instances now WAIT for the replica after each session write, at most %s", scenarios.Seconds(s.RedisWait.Seconds()))
	}
	roundOf(r, round)
	return nil
}

// fillAndCatchUp logs the first half of the users in (of the redis variant
// only, in a later round: the others' sessions are where they were) and
// waits until the replica has applied all the primary sent.
func fillAndCatchUp(r *scenarios.Run, round string) error {
	f := roundOf(r, round)
	users := half(r, 0)
	if round != "" {
		users = slices.DeleteFunc(users, func(u *scenarios.User) bool { return !u.Variant.Describe().DiesWithStore() })
	}
	var mu sync.Mutex
	failed := 0
	start := time.Now()
	r.Each(users, func(u *scenarios.User) {
		if !u.Fill(r.Context()) {
			mu.Lock()
			failed++
			mu.Unlock()
		}
	})
	if failed > 0 {
		return fmt.Errorf("%d of %d users could not log in and fill their carts on the replicated Redis", failed, len(users))
	}
	last := time.Now()
	var took []time.Duration
	for _, v := range statelab.Variants {
		if !v.Describe().DiesWithStore() {
			continue
		}
		for _, rq := range r.Requests(v) {
			if rq.Method == http.MethodPost && rq.Path == "/cart" && rq.Status == http.StatusOK && !r.At(rq.T).Before(start) {
				took = append(took, time.Duration(rq.Millis*float64(time.Millisecond)))
			}
		}
	}
	f.WriteMs = ms(scenarios.Median(took))
	rep := r.Replication()
	var rp int64
	err := poll.Until(r.Context(), r.Timing().Wait(30*time.Second), 5*time.Millisecond, func(ctx context.Context) error {
		p, applied, err := rep.Offsets(ctx)
		if err != nil {
			return err
		}
		if applied < p {
			return fmt.Errorf("the replica has applied %d bytes of the %d the primary sent", applied, p)
		}
		rp = applied
		return nil
	})
	if err != nil {
		return fmt.Errorf("the replica did not catch up with the primary: %w", err)
	}
	f.LagMs = ms(time.Since(last))
	who := fmt.Sprintf("%d users per variant", len(users)/len(statelab.Variants))
	if round != "" {
		who = fmt.Sprintf("%d redis users", len(users))
	}
	why := ""
	if round != "" {
		why = " (each write had waited for it already)"
	}
	r.Aside("%s logged in and filled their carts; the median redis POST /cart took %s. The replica had applied all the primary sent (offset %d) %s after the last write%s",
		who, scenarios.Millis(f.WriteMs), rp, scenarios.Millis(f.LagMs), why)
	return nil
}

// writeWhileStalled stalls the link; each user of the first half adds one
// item, each of the second half logs in and fills its cart; then it
// predicts each redis user's outcome from what was acknowledged.
func writeWhileStalled(r *scenarios.Run, round string) error {
	f := roundOf(r, round)
	rep := r.Replication()
	if err := rep.Stall(r.Context(), true); err != nil {
		return err
	}
	item := statelab.Item{Item: "stalled" + round, Qty: 1}
	writers, newcomers := half(r, 0), half(r, 1)
	if round != "" {
		newcomers = nil // they are the first round's: its lesson is learnt
	}
	wrote, loggedIn := map[string]bool{}, map[string]bool{}
	var refusedTook []time.Duration
	var mu sync.Mutex
	count := func(u *scenarios.User, resp scenarios.Response, acked map[string]bool, n, ok *int) {
		if !u.Variant.Describe().DiesWithStore() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		*n++
		if resp.OK() {
			*ok++
			acked[u.Name] = true
		} else if resp.Status == http.StatusServiceUnavailable {
			f.Refused++
			refusedTook = append(refusedTook, resp.Took)
		}
	}
	r.Each(append(slices.Clone(writers), newcomers...), func(u *scenarios.User) {
		if slices.Contains(writers, u) {
			count(u, u.Add(r.Context(), item), wrote, &f.Writes, &f.AckedWrites)
			return
		}
		resp := u.Login(r.Context())
		count(u, resp, loggedIn, &f.Logins, &f.AckedLogins)
		if resp.OK() {
			for _, it := range u.Plan {
				u.Add(r.Context(), it)
			}
		}
	})
	var err error
	if f.PrimaryOffset, f.ReplicaOffset, err = rep.Offsets(r.Context()); err != nil {
		return err
	}
	f.Predicted = map[string]scenarios.Outcome{}
	for _, v := range statelab.Variants {
		if !v.Describe().DiesWithStore() {
			continue
		}
		for _, u := range r.Users[v] {
			switch {
			case !slices.Contains(writers, u) && !slices.Contains(newcomers, u):
				continue
			case slices.Contains(newcomers, u) && loggedIn[u.Name]:
				f.Predicted[u.Name] = scenarios.Lost
			case slices.Contains(newcomers, u):
				f.Predicted[u.Name] = scenarios.Unavailable // its login failed: it has nothing to lose
			case wrote[u.Name]:
				f.Predicted[u.Name] = scenarios.LostData
			default:
				f.Predicted[u.Name] = scenarios.Kept
			}
		}
	}
	logins := ""
	if f.Logins > 0 {
		logins = fmt.Sprintf(" and %d of %d logins", f.AckedLogins, f.Logins)
	}
	refused := fmt.Sprintf("%d answered 503", f.Refused)
	if f.Refused > 0 {
		f.RefusedMs = ms(scenarios.Median(refusedTook))
		refused += fmt.Sprintf(", after a median of %s", scenarios.Millis(f.RefusedMs))
	}
	r.Note("while the link stalled, the primary answered %d of %d redis writes%s 200 (%s); "+
		"Redis's replication offsets: the primary has sent %d bytes, the replica applied %d: it lacks %d bytes of writes (Sentinel's own messages among them)",
		f.AckedWrites, f.Writes, logins, refused, f.PrimaryOffset, f.ReplicaOffset, f.PrimaryOffset-f.ReplicaOffset)
	return nil
}

// killPrimary kills the primary, measures the failover, and probes every
// user.
func killPrimary(r *scenarios.Run, round, probe string) error {
	f := roundOf(r, round)
	rep := r.Replication()
	was := rep.PrimaryAddr()
	var sampler *scenarios.User
	for _, u := range half(r, 0) {
		if u.Variant.Describe().DiesWithStore() {
			sampler = u
			break
		}
	}
	if sampler == nil {
		return fmt.Errorf("no redis user to ask who it is during the failover")
	}
	r.Fault()
	t0 := time.Now()
	if err := rep.KillPrimary(r.Context()); err != nil {
		return err
	}
	// One redis user asks who it is, again and again, until every redis
	// instance has served it, twice each, in one run of 200s: the
	// instances have all found the new primary.
	served := make(chan error, 1)
	go func() { served <- awaitServed(r, sampler, t0, f) }()
	now, at, err := r.AwaitPromotion(was, failoverPoll, 30*time.Second)
	if err != nil {
		<-served
		return err
	}
	f.PromotedMs = ms(at.Sub(t0))
	f.ReplicaPromoted = now == rep.ReplicaAddr()
	if err := <-served; err != nil {
		return err
	}
	who := "the replica (" + now + ")"
	if !f.ReplicaPromoted {
		who = now + ", which is not the replica,"
	}
	r.Note("the Sentinels named %s the primary %s after the kill; %s, asking again %d ms after each answer, got %d answers other than 200, and was served from %s after the kill on, by every instance",
		who, scenarios.Millis(f.PromotedMs), sampler.Name, failoverPoll.Milliseconds(), f.Failed, scenarios.Millis(f.UnservedMs))
	var users []*scenarios.User
	for _, v := range statelab.Variants {
		users = append(users, r.Users[v]...)
	}
	if round != "" {
		users = half(r, 0) // the first round's newcomers sat this one out
	}
	if _, err := r.ProbeUsers(probe, users); err != nil {
		return err
	}
	if round != "" {
		// A refused write was applied by the primary all the same: is it
		// in a cart now? (The probe adds to a user's cart what it finds
		// of its unanswered writes.)
		item := "stalled" + round
		for _, u := range users {
			if u.Variant.Describe().DiesWithStore() && slices.ContainsFunc(u.Cart(), func(it statelab.Item) bool { return it.Item == item }) {
				f.RefusedBack++
			}
		}
	}
	return nil
}

// awaitServed has u ask who it is every failoverPoll until, in one run of
// answers 200, every instance of its pool has answered it twice; it
// records in f when that run began, and the answers that were not 200.
func awaitServed(r *scenarios.Run, u *scenarios.User, t0 time.Time, f *failoverFacts) error {
	instances := r.RT.Instances(u.Variant)
	limit := r.Timing().Wait(60 * time.Second)
	seen := map[string]int{}
	return poll.Until(r.Context(), limit, failoverPoll, func(ctx context.Context) error {
		_, resp := u.Probe(ctx)
		if !resp.OK() {
			clear(seen)
			f.Failed++
			return fmt.Errorf("%s was answered %s", u.Name, scenarios.AnswerCause(resp))
		}
		if len(seen) == 0 {
			f.UnservedMs = ms(time.Since(t0))
		}
		seen[resp.Instance]++
		for _, in := range instances {
			if seen[in] < 2 {
				return fmt.Errorf("%s has been served by %d of %d instances twice since the last failure", u.Name, len(seen), len(instances))
			}
		}
		return nil
	})
}

// losesUnreplicated: each redis user's outcome after the failover is
// what was acknowledged after the link stalled says: a write answered 200
// then is lost data, a session begun then is lost, everything else kept.
func losesUnreplicated(v statelab.Variant, round string) scenarios.Expectation {
	probe := failoverAfter
	text := "loses exactly what the primary acknowledged after the link stalled: each such write, each session begun then"
	if round != "" {
		probe = failoverWaitText
		text = "loses, with WAIT, exactly what the primary acknowledged after the link stalled: nothing"
	}
	return scenarios.Expectation{Variant: v, Text: text + vocab.At(probe), Check: func(res *scenarios.Result) (bool, string) {
		f := factsOf(res, round)
		got := res.Verdict(probe).Outcome[v]
		wrong := 0
		for user, want := range f.Predicted {
			if got[user] != want {
				wrong++
			}
		}
		ok := len(f.Predicted) > 0 && len(got) == len(f.Predicted) && wrong == 0
		return ok, fmt.Sprintf("%d acknowledged writes and %d sessions to lose; %s as predicted",
			f.AckedWrites, f.AckedLogins, vocab.OfUsers(len(f.Predicted)-wrong, len(f.Predicted)))
	}}
}

// waitLosesNothing: with WAIT, no write or login was acknowledged while
// the replica could not have it, so nothing acknowledged was lost.
func waitLosesNothing(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "acknowledges no write the replica does not have, with WAIT" + vocab.At(failoverWaitText), Check: func(res *scenarios.Result) (bool, string) {
		f := factsOf(res, " with WAIT")
		t := res.Verdict(failoverWaitText).Tallies[v]
		lost := t.Of(scenarios.Lost) + t.Of(scenarios.LostData)
		return f.Writes > 0 && f.AckedWrites == 0 && lost == 0,
			fmt.Sprintf("%d of %d writes acknowledged while the link stalled; %s lost",
				f.AckedWrites, f.Writes, scenarios.Plural(lost, "user"))
	}}
}

// promoted: Sentinel promoted the replica in both rounds.
func promoted() scenarios.Expectation {
	return scenarios.Expectation{Variant: scenarios.EveryVariant, Text: "runs while Sentinel promotes the replica after each kill of the primary", Check: func(res *scenarios.Result) (bool, string) {
		a, b := factsOf(res, ""), factsOf(res, " with WAIT")
		return a.ReplicaPromoted && b.ReplicaPromoted, fmt.Sprintf("the replica named the primary %s and %s after the kill", scenarios.Millis(a.PromotedMs), scenarios.Millis(b.PromotedMs))
	}}
}

func failoverLesson(res *scenarios.Result) string {
	a, b := factsOf(res, ""), factsOf(res, " with WAIT")
	lostData, of := users(res, failoverAfter, inStore, scenarios.LostData)
	lost, _ := users(res, failoverAfter, inStore, scenarios.Lost)
	keptWait, ofWait := users(res, failoverWaitText, inStore, scenarios.Kept)
	waited := "the primary acknowledged nothing the replica did not have"
	if b.AckedWrites > 0 {
		waited = "the replica acknowledged some writes even so"
	}
	back := "none of them was in a cart after the failover: the primary applies a write before it waits for the replica, so it had them, and they died with it; their users had been told 503, never 200"
	if b.RefusedBack > 0 {
		back = fmt.Sprintf("%d of them turned up in a cart after the failover: a 503 said the write might not last, not that it was undone", b.RefusedBack)
	}
	_, others := users(res, failoverAfter, inProcess, scenarios.Kept)
	_, othersWait := users(res, failoverWaitText, inProcess, scenarios.Kept)
	kept := fmt.Sprintf("Memory, jwt and cookie, which keep no session in Redis, kept every user asked after each failover (%d, then %d each)", others, othersWait)
	if !allKept(res, failoverAfter, inProcess, inToken, inCookie) || !allKept(res, failoverWaitText, inProcess, inToken, inCookie) {
		kept = "Memory, jwt and cookie keep no session in Redis, yet did not keep every user here (see the tables)"
	}
	return fmt.Sprintf("Sentinel promoted the replica %s after the primary was SIGKILLed; a redis user asking again and again was served from %s after the kill on, by every instance. "+
		"But replication is asynchronous. While the link stalled, the primary answered %d writes and %d logins 200 that the replica never had (the replica lacked %d bytes of the primary's stream when it was killed), and they died with the primary: "+
		"%d of %d redis users lost an item they had been told was saved, and %d lost the session they had just been given. "+
		"With WAIT 1 after each session write, %s: while the link stalled, %d of %d writes were refused with 503 (after a median of %s; WAIT gives up after %s) and %d acknowledged; %s. "+
		"After the failover %d of %d redis writers had everything they had been told was saved. "+
		"The price: with the replica %s away, the median POST /cart took %s with WAIT against %s without. "+
		"%s. "+
		"Stateless servers move state into a store; a replicated store comes back after losing its primary (here every instance served again %s after the kill, with 503s until then), but without WAIT (or a store that acknowledges only what a replica has), the last acknowledged writes can be lost, silently.",
		scenarios.Millis(a.PromotedMs), scenarios.Millis(a.UnservedMs),
		a.AckedWrites, a.AckedLogins, a.PrimaryOffset-a.ReplicaOffset,
		lostData, of, lost,
		waited, b.Refused, b.Writes, scenarios.Millis(b.RefusedMs), scenarios.Seconds(failoverWait.Seconds()), b.AckedWrites, back,
		keptWait, ofWait,
		scenarios.Seconds(failoverLink.Seconds()), scenarios.Millis(b.WriteMs), scenarios.Millis(a.WriteMs),
		kept, scenarios.Millis(a.UnservedMs))
}
