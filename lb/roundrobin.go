package lb

func init() { register(RoundRobin, func(bool) policy { return roundRobin{} }) }

// roundRobin takes the backends that take new users in turn.
type roundRobin struct{}

func (roundRobin) pick(p *Pool, list []*Backend, _ string, _ *attempt) (*Backend, error) {
	if b := p.nextInTurn(list, nil); b != nil {
		return b, nil
	}
	return nil, errNoBackend
}

func (roundRobin) retry(p *Pool, list []*Backend, _ *attempt, failed *Backend) *Backend {
	return p.nextInTurn(list, failed)
}

// nextInTurn returns the next backend, from the pool's round-robin
// position, that takes new users and is not excluded.
func (p *Pool) nextInTurn(list []*Backend, exclude *Backend) *Backend {
	n := len(list)
	if n == 0 {
		return nil
	}
	start := int(p.next.Add(1) % uint64(n))
	for i := 0; i < n; i++ {
		b := list[(start+i)%n]
		if b != exclude && b.takesNew() {
			return b
		}
	}
	return nil
}
