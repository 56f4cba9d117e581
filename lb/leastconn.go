package lb

func init() { register(LeastConn, func(bool) policy { return leastConn{} }) }

// leastConn takes the backend with the fewest requests in flight, ties
// broken in turn.
type leastConn struct{}

func (leastConn) pick(p *Pool, list []*Backend, _ string, _ *attempt) (*Backend, error) {
	if b := fewest(p, list, nil); b != nil {
		return b, nil
	}
	return nil, errNoBackend
}

func (leastConn) retry(p *Pool, list []*Backend, _ *attempt, failed *Backend) *Backend {
	return fewest(p, list, failed)
}

func fewest(p *Pool, list []*Backend, exclude *Backend) *Backend {
	n := len(list)
	if n == 0 {
		return nil
	}
	start := int(p.next.Add(1) % uint64(n))
	var best *Backend
	var bestN int64
	for i := 0; i < n; i++ {
		b := list[(start+i)%n]
		if b == exclude || !b.takesNew() {
			continue
		}
		if f := b.inflight.Load(); best == nil || f < bestN {
			best, bestN = b, f
		}
	}
	return best
}
