package catalog

import (
	"statelab"
	"statelab/lb"
	"statelab/scenarios"
)

// Steps several scenarios share.

func fill() scenarios.Step {
	return scenarios.Step{
		Title: "log every user in and fill its cart",
		Why:   "Each user logs in through the balancer and adds its planned items, one request each, as a shopper would.",
		Run:   func(r *scenarios.Run) error { return r.FillAll() },
	}
}

func stickyStep() scenarios.Step {
	return scenarios.Step{
		Title: "turn on sticky routing",
		Why:   "The balancer pins each user to the instance that answered its first request, with a cookie naming that instance.",
		Run:   func(r *scenarios.Run) error { return r.SetPolicy(lb.Sticky, false) },
	}
}

func probe(name string, times int, title, why string) scenarios.Step {
	return scenarios.Step{Title: title, Why: why, Run: func(r *scenarios.Run) error {
		_, err := r.Probe(name, times)
		return err
	}}
}

func lostOf(res *scenarios.Result, verdict string, v statelab.Variant) (lost, users int) {
	t := res.Verdict(verdict).Tallies[v]
	return t.LostSession + t.LostData, t.Users
}
