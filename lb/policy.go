package lb

import "statelab/lb/api"

// policy is one way of picking backends. An implementation sees the pool's
// backends as they are now, and the attempt it may record in (a sticky
// policy asks for its cookie to be set).
type policy interface {
	// pick returns the backend for a request. pinned is the backend the
	// request's sticky cookie names, "" when it has none.
	pick(p *Pool, list []*Backend, pinned string, st *attempt) (*Backend, error)
	// retry returns another backend than failed, for a request that never
	// reached failed; nil when there is none.
	retry(p *Pool, list []*Backend, st *attempt, failed *Backend) *Backend
}

// policies holds a constructor per policy; each policy's file registers it.
// strict matters to sticky only.
var policies = map[Policy]func(strict bool) policy{}

func register(name Policy, f func(strict bool) policy) { policies[name] = f }

// setting is a pool's policy as configured, with its implementation.
type setting struct {
	name   Policy
	strict bool
	impl   policy
}

func newSetting(name Policy, strict bool) (*setting, error) {
	f, ok := policies[name]
	if !ok {
		_, err := api.ParsePolicy(string(name))
		return nil, err
	}
	return &setting{name: name, strict: strict && name.Pins(), impl: f(strict)}, nil
}
