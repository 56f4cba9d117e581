package scenarios

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"statelab"
)

// Plan is the deterministic part of a run: user names and the items each
// adds, from a seed. The same seed and user count give the same plan.
type Plan struct {
	Seed  uint64
	Users []PlannedUser
}

// PlannedUser is one user of the plan; each variant gets a user of that name.
type PlannedUser struct {
	Name  string
	Items []statelab.Item
}

var fruits = []string{"apple", "apricot", "banana", "cherry", "date", "fig", "grape", "kiwi", "lemon", "lime", "mango", "melon", "orange", "papaya", "peach", "pear", "plum", "quince"}

// NewPlan makes the plan for n users: each adds two or three distinct items.
func NewPlan(seed uint64, n int) Plan {
	p := Plan{Seed: seed}
	width := max(len(fmt.Sprint(n)), 3)
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		k := 2 + rng.IntN(2)
		picks := rng.Perm(len(fruits))[:k]
		items := make([]statelab.Item, 0, k)
		for _, f := range picks {
			items = append(items, statelab.Item{Item: fruits[f], Qty: 1 + rng.IntN(5)})
		}
		p.Users = append(p.Users, PlannedUser{Name: fmt.Sprintf("user%0*d", width, i+1), Items: items})
	}
	return p
}

// Describe summarises the plan in a line or two.
func (p Plan) Describe() string {
	if len(p.Users) == 0 {
		return "no users"
	}
	first := p.Users[0]
	var items []string
	for _, it := range first.Items {
		items = append(items, fmt.Sprintf("%d × %s", it.Qty, it.Item))
	}
	return fmt.Sprintf("%d users per variant (%s to %s), seed %d; each logs in and adds 2 or 3 items to its cart, one request each, e.g. %s: %s",
		len(p.Users), first.Name, p.Users[len(p.Users)-1].Name, p.Seed, first.Name, strings.Join(items, ", "))
}
