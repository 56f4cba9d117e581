package catalog

import (
	"fmt"

	"statelab"
	"statelab/lb"
	"statelab/scenarios"
)

// Steps several scenarios share.

func fill() scenarios.Step {
	return scenarios.Step{
		Title: "log every user in and fill its cart",
		Why:   "Each user logs in and adds its planned items, one request each.",
		Run:   func(r *scenarios.Run) error { return r.FillAll() },
	}
}

func stickyStep() scenarios.Step {
	return scenarios.Step{
		Title: "turn on sticky routing",
		Why:   "The balancer pins each user to one instance with a cookie.",
		Run:   func(r *scenarios.Run) error { return r.SetPolicy(lb.Sticky, false) },
	}
}

func probe(name string, times int, title, why string) scenarios.Step {
	return scenarios.Step{Title: title, Why: why, Run: func(r *scenarios.Run) error {
		_, err := r.Probe(name, times)
		return err
	}}
}

// requests returns a variant's probe requests at a probe, and those whose
// outcome was not good.
func requests(res *scenarios.Result, probe string, v statelab.Variant) (all, bad int) {
	return res.Verdict(probe).Requests(v)
}

// users returns the users of a variant at a probe with outcome o, and all.
func users(res *scenarios.Result, probe string, v statelab.Variant, o scenarios.Outcome) (n, of int) {
	t := res.Verdict(probe).Tallies[v]
	return t.Of(o), t.Users
}

// keptWords says how many users of redis and jwt a probe kept: "Redis and
// jwt kept all 30 users" or "Redis kept 30 of 30 users, jwt 22".
func keptWords(res *scenarios.Result, probe string) string {
	r, of := users(res, probe, statelab.Redis, scenarios.Kept)
	j, _ := users(res, probe, statelab.JWT, scenarios.Kept)
	if r == of && j == of {
		return fmt.Sprintf("Redis and jwt kept all %d users", of)
	}
	return fmt.Sprintf("Redis kept %d of %d users, jwt %d", r, of, j)
}

// allKept reports whether every user of the variants was kept at a probe.
func allKept(res *scenarios.Result, probe string, vs ...statelab.Variant) bool {
	for _, v := range vs {
		t := res.Verdict(probe).Tallies[v]
		if t.Users == 0 || t.Of(scenarios.Kept) != t.Users {
			return false
		}
	}
	return true
}
