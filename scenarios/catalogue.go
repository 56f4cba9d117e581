package scenarios

import (
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

func stickyStep() Step {
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

// catalogue is every scenario, in the order of the brief's catalogue.
var catalogue = []*Scenario{
	roundRobin,
	sticky,
	killInstance,
	rollingRestart,
	scaleOut,
	switchRouting,
	redisDown,
	logoutReplay,
	keyRotation,
	configDrift,
	cost,
}

func lostOf(res *Result, verdict string, v servers.Variant) (lost, users int) {
	t := res.Verdict(verdict).Tallies[v]
	return t.LostSession + t.LostData, t.Users
}
