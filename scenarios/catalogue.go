package scenarios

import (
	"fmt"

	"statelab/lb"
	"statelab/servers"
)

// Claims of the seed articles (../shared/seeds), quoted.
var (
	claimMemory = Claim{Source: "004", Row: "Memory of Past Requests",
		Text: "Stateful: context is stored server-side in memory, cache, or a database. Stateless: none; each request is treated as if it is the first."}
	claimScalability = Claim{Source: "004", Row: "Scalability",
		Text: "Stateless: any server instance can handle any request. Stateful: sessions may pin clients to specific server instances unless a shared session store is used."}
	claimFaultTolerance = Claim{Source: "004", Row: "Fault Tolerance",
		Text: "Stateless: a server restart has no effect on clients because no session data is lost. Stateful: a server restart can invalidate in-memory sessions unless sessions are stored externally in Redis or a database."}
	claimSticky = Claim{Source: "004", Row: "Sticky sessions",
		Text: "Simple to set up but reduces the effectiveness of load balancing and creates a single point of failure: if the assigned server goes down, all its sessions are lost and those clients must log in again."}
)

func fill() Step {
	return Step{
		Title: "log every user in and fill its cart",
		Why:   "Each user logs in through the balancer and adds its planned items, one request each, as a shopper would.",
		Run:   func(r *Run) error { return r.FillAll() },
	}
}

func sticky() Step {
	return Step{
		Title: "turn on sticky routing",
		Why:   "The balancer pins each user to the instance that answered its first request, with a cookie naming that instance.",
		Run:   func(r *Run) error { return r.SetPolicy(lb.Sticky, false) },
	}
}

func probe(name string, times int, title, why string) Step {
	return Step{Title: title, Why: why, Run: func(r *Run) error {
		_, err := r.Probe(name, times)
		return err
	}}
}

func lostOf(res *Result, verdict string, v servers.Variant) (lost, users int) {
	t := res.Verdict(verdict).Tallies[v]
	return t.LostSession + t.LostData, t.Users
}

var _ = register(&Scenario{
	Name:    "round-robin",
	Summary: "three instances, no affinity: the memory variant forgets users whenever a request lands elsewhere",
	Setup:   "round-robin routing; nothing fails",
	Claims:  []Claim{claimMemory, claimScalability},
	Steps: []Step{
		fill(),
		probe("after three more requests", 3, "ask every user who it is, three times",
			"Round-robin sends each request to the next instance. Nothing fails: the only question is which instance remembers the user."),
	},
	Expect: []Expectation{
		losesMost(servers.Memory, ""),
		keepsAll(servers.Redis, ""),
		keepsAll(servers.JWT, ""),
	},
	Lesson: func(res *Result) string {
		vd := res.Verdict("")
		lost, users := lostOf(res, "", servers.Memory)
		return fmt.Sprintf("nothing failed, yet the memory variant lost %d of %d users: %d of %d requests landed on an instance that had never seen the session. "+
			"Redis and jwt kept everyone, because any instance could answer: the session was in the shared Redis, or in the request itself.",
			lost, users, vd.Failed[servers.Memory], vd.Requests[servers.Memory])
	},
})

var _ = register(&Scenario{
	Name:    "sticky",
	Summary: "cookie affinity on: the memory variant works, as long as nothing fails",
	Setup:   "sticky routing; nothing fails",
	Claims:  []Claim{claimScalability, claimSticky},
	Steps: []Step{
		sticky(),
		fill(),
		probe("with affinity", 3, "ask every user who it is, three times",
			"Each user's requests now all go to the instance it is pinned to."),
	},
	Expect: []Expectation{
		keepsAll(servers.Memory, ""),
		keepsAll(servers.Redis, ""),
		keepsAll(servers.JWT, ""),
	},
	Lesson: func(res *Result) string {
		return fmt.Sprintf("with affinity every variant keeps every user; memory users are spread %s, each bound to the one instance that holds its session. "+
			"That holds only while nothing fails or moves: see kill-instance, rolling-restart and scale-out.",
			res.Verdict("").Spread(servers.Memory))
	},
})

var _ = register(&Scenario{
	Name:    "kill-instance",
	Summary: "sticky routing, one instance of each variant SIGKILLed: memory loses the users pinned to it",
	Setup:   "sticky routing; one instance of each variant is SIGKILLed",
	Claims:  []Claim{claimFaultTolerance, claimSticky},
	Steps: []Step{
		sticky(),
		fill(),
		probe("before the kill", 1, "check that every user is served",
			"A baseline, and a record of which instance each user is pinned to."),
		{
			Title: "kill memory-2, redis-2, jwt-2 with SIGKILL",
			Why:   "SIGKILL gives a process no chance to finish anything: its memory is gone at once. The balancer must notice, by a failed request or a failed health check.",
			Run:   func(r *Run) error { return r.End(2, false) },
		},
		probe("after the kill", 2, "ask every user who it is, twice",
			"Users pinned to a dead instance are re-pinned to a live one. What they find there depends on where their session was."),
	},
	Expect: []Expectation{
		losesThoseOn(servers.Memory, 2, "before the kill", "after the kill"),
		keepsAll(servers.Redis, "after the kill"),
		keepsAll(servers.JWT, "after the kill"),
	},
	Lesson: func(res *Result) string {
		lost, users := lostOf(res, "after the kill", servers.Memory)
		return fmt.Sprintf("memory kept its sessions inside memory-2; they died with it: %d of %d users must log in again, and the others never noticed. "+
			"The users pinned to redis-2 and jwt-2 were re-pinned too, and kept: their sessions were not in the process that died.", lost, users)
	},
})

var _ = register(&Scenario{
	Name:    "rolling-restart",
	Summary: "every instance restarted in turn, as a deploy does: memory loses everyone, the others no one",
	Setup:   "sticky routing; every instance restarted in turn, gracefully, while users keep going",
	Claims:  []Claim{claimFaultTolerance},
	Steps: []Step{
		sticky(),
		fill(),
		probe("before the restarts", 1, "check that every user is served", "A baseline."),
		{
			Title: "restart instances 1, 2 and 3 of every variant in turn, while users keep asking who they are",
			Why: "A deploy: each instance gets SIGTERM (requests in flight finish), a new process starts, and the next instance is restarted only once the balancer sees the new one up. " +
				"Users keep sending requests the whole time.",
			Run: func(r *Run) error {
				_, err := r.ProbeDuring("during the restarts", func() error {
					for n := 1; n <= 3; n++ {
						if err := r.End(n, true); err != nil {
							return err
						}
						if err := r.Restart(n, nil); err != nil {
							return err
						}
					}
					return nil
				})
				return err
			},
		},
		probe("after the restarts", 2, "ask every user who it is, twice", "Every process now running started after the users logged in."),
	},
	Expect: []Expectation{
		losesAll(servers.Memory, "after the restarts"),
		keepsAll(servers.Redis, "during the restarts"),
		keepsAll(servers.Redis, "after the restarts"),
		keepsAll(servers.JWT, "during the restarts"),
		keepsAll(servers.JWT, "after the restarts"),
	},
	Lesson: func(res *Result) string {
		lost, users := lostOf(res, "after the restarts", servers.Memory)
		return fmt.Sprintf("a routine deploy logged out all %d memory users (%d lost), though no instance ever failed. "+
			"Redis and jwt users did not see a single failed request during the whole deploy: graceful stops, retries of refused connects, and sessions that live outside the processes.", users, lost)
	},
})
