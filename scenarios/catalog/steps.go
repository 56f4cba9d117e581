package catalog

import (
	"fmt"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// Steps several scenarios share.

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

// keptWords says how many users of the variants other than memory a probe
// kept: "redis and jwt kept all 30 users" or "redis kept 30 of 30 users,
// jwt 22".
func keptWords(res *scenarios.Result, probe string) string {
	others := notMemory()
	var counts []string
	all := true
	of := 0
	for _, v := range others {
		n, total := users(res, probe, v, scenarios.Kept)
		of = total
		all = all && n == total
		counts = append(counts, fmt.Sprint(n))
	}
	if all {
		return fmt.Sprintf("the %s variants kept all %d users", variantNames(others), of)
	}
	parts := make([]string, len(others))
	for i, v := range others {
		parts[i] = counts[i] + " " + string(v)
	}
	return fmt.Sprintf("of %d users per variant, %s users were kept", of, vocab.And(parts))
}

// notMemory lists the variants whose sessions outlive the process.
func notMemory() []statelab.Variant {
	return where(func(d statelab.Description) bool { return !d.DiesWithProcess() })
}

// variantNames says variants as "redis, jwt and cookie".
func variantNames(vs []statelab.Variant) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = string(v)
	}
	return vocab.And(names)
}

// instanceNames says instance n of each variant: "memory-2, redis-2 and
// jwt-2".
func instanceNames(n int, vs ...statelab.Variant) string {
	if len(vs) == 0 {
		vs = statelab.Variants
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = fmt.Sprintf("%s-%d", v, n)
	}
	return vocab.And(names)
}

// counts says a figure per variant: "10 each" when they agree, else "10
// and 9".
func counts(vs []statelab.Variant, f func(statelab.Variant) int) string {
	parts := make([]string, len(vs))
	same := true
	for i, v := range vs {
		parts[i] = fmt.Sprint(f(v))
		same = same && parts[i] == parts[0]
	}
	if same && len(parts) > 1 {
		return parts[0] + " each"
	}
	return vocab.And(parts)
}

// perVariant says a figure per variant with its name: "23 redis and 22
// jwt".
func perVariant(vs []statelab.Variant, f func(statelab.Variant) int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%d %s", f(v), v)
	}
	return vocab.And(parts)
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
