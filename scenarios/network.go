package scenarios

import (
	"fmt"
	"net/url"

	"statelab"
	"statelab/internal/delay"
)

// The users' side of the network: a proxy in front of each pool that the
// scenario can break (flaky-network), the lab's own delay proxy.

// Through puts a proxy in front of each pool, between the users and the
// balancer, and sends every user's requests through it from now on. The
// proxies end with the scenario.
func (r *Run) Through() error {
	if len(r.net) > 0 {
		return nil
	}
	for _, v := range statelab.Variants {
		base, err := url.Parse(r.rn.rt.Endpoints().Pools[v])
		if err != nil {
			return fmt.Errorf("the %s pool's address: %w", v, err)
		}
		p, err := delay.Listen("127.0.0.1:0", base.Host)
		if err != nil {
			return fmt.Errorf("a proxy in front of the %s pool: %w", v, err)
		}
		r.net = append(r.net, p)
		via := *base
		via.Host = p.Addr()
		for _, u := range r.Users[v] {
			u.via(&via)
		}
	}
	return nil
}

// DropAnswers, on, has the users' network drop every answer: each request
// reaches the balancer and its instance, which act on it, and the user's
// connection is reset when the answer starts. Off, answers pass again.
// It is the scenario's fault (Run.Fault and Run.Fixed), and a failed
// answer meanwhile is explained by it.
func (r *Run) DropAnswers(on bool) error {
	if len(r.net) == 0 {
		return fmt.Errorf("no network to break: the users do not go through proxies (Run.Through)")
	}
	r.world.mu.Lock()
	r.world.dropping = on
	r.world.mu.Unlock()
	if on {
		r.Fault()
	}
	for _, p := range r.net {
		p.Drop(on)
	}
	if !on {
		r.Fixed()
	}
	return nil
}

// Dropped counts the answers the users' network dropped.
func (r *Run) Dropped() int64 {
	var n int64
	for _, p := range r.net {
		n += p.Dropped()
	}
	return n
}

// closeNetwork ends the users' proxies.
func (r *Run) closeNetwork() {
	for _, p := range r.net {
		p.Close()
	}
	r.net = nil
}

// via sends the user's requests to base from now on.
func (u *User) via(base *url.URL) {
	u.base = base
}
