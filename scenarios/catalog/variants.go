package catalog

import "statelab"

// The variants the steps and lessons speak of, picked by what they are
// (their description), never by name: a step that restarts "the variant
// whose sessions live in the shared store" follows the description if a
// variant changes. Lessons are written for people about the lab's
// variants, with their numbers from the journal.
var (
	inProcess = pick(statelab.Description.DiesWithProcess)                                      // sessions in one process
	inStore   = pick(statelab.Description.DiesWithStore)                                        // sessions in the shared store
	inToken   = pick(func(d statelab.Description) bool { return !d.ServerHolds() && d.Bearer }) // the client holds a token
	inCookie  = pick(func(d statelab.Description) bool { return !d.ServerHolds() && !d.Bearer })
)

// pick returns the first variant whose description satisfies is; the
// catalogue test checks that each pick finds one, and a different one.
func pick(is func(statelab.Description) bool) statelab.Variant {
	for _, d := range statelab.Descriptions() {
		if is(d) {
			return d.Variant
		}
	}
	return ""
}

// where lists the variants whose description satisfies is.
func where(is func(statelab.Description) bool) []statelab.Variant {
	var out []statelab.Variant
	for _, d := range statelab.Descriptions() {
		if is(d) {
			out = append(out, d.Variant)
		}
	}
	return out
}

// instance names instance n of a variant: "memory-2".
func instance(d statelab.Description, n int) string { return d.Variant.Instance(n) }
