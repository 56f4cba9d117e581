package lb

import "fmt"

func init() { register(Sticky, func(strict bool) policy { return sticky{strict: strict} }) }

// sticky sends a user to the backend its cookie names (cookie affinity).
// A user without one, or whose backend cannot take it, is pinned to the
// next backend in turn, unless the pool is strict: then its request gets a
// 503 (Envoy's strict stateful sessions, against HAProxy's redispatch).
type sticky struct{ strict bool }

func (s sticky) pick(p *Pool, list []*Backend, pinned string, st *attempt) (*Backend, error) {
	if pinned != "" {
		for _, b := range list {
			if b.Name == pinned && b.takesPinned() {
				st.pinned = s.strict
				return b, nil
			}
		}
		if s.strict {
			return nil, fmt.Errorf("%w: %q is not available and this pool is strict", errPinnedGone, pinned)
		}
		st.repinnedFrom = pinned
	}
	st.setCookie = true
	if b := p.nextInTurn(list, nil); b != nil {
		return b, nil
	}
	return nil, errNoBackend
}

// retry re-pins the user to where the retry lands.
func (sticky) retry(p *Pool, list []*Backend, st *attempt, failed *Backend) *Backend {
	b := p.nextInTurn(list, failed)
	if b != nil {
		if !st.setCookie {
			st.repinnedFrom = failed.Name
		}
		st.setCookie = true
	}
	return b
}
