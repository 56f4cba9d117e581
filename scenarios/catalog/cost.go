package catalog

import (
	"fmt"
	"sync"

	"statelab"
	"statelab/scenarios"
)

var (
	claimRequestSize = scenarios.Claim{Source: "004", Row: "Request Size",
		Text: "Stateless: larger; each request must carry all necessary context including authentication credentials. Stateful: smaller; only a short session identifier needs to be sent."}
	claimResources = scenarios.Claim{Source: "004", Row: "Server Resources",
		Text: "Stateless: lower; no session data needs to be stored or managed on the server side. Stateful: higher; each active session occupies memory or database storage."}
)

// costSizes are the cart sizes the cost scenario measures at.
var costSizes = []int{1, 10, 100}

// costFigures is one row of the cost table.
type costFigures struct {
	items      int
	credential int   // median bytes of credential headers per request
	held       int64 // bytes held per session, on the instances or in Redis
	where      string
	median     string
}

// cost: carts grow to 1, 10 and 100 items; what each variant sends per
// request and holds per session.
var cost = &scenarios.Scenario{
	Name:     "cost",
	Summary:  "carts grow to 1, 10 and 100 items: bytes sent per request against bytes held per session",
	Setup:    "sticky routing; every user's cart grows to 1, then 10, then 100 lines",
	Claims:   []scenarios.Claim{claimRequestSize, claimResources},
	MaxUsers: 10,
	Steps: []scenarios.Step{
		stickyStep(),
		{
			Title: "log every user in",
			Why:   "An empty cart.",
			Run: func(r *scenarios.Run) error {
				r.EachUser(func(u *scenarios.User) { u.Login(r.Context()) })
				return r.Context().Err()
			},
		},
		{
			Title: "grow every cart to 1, 10 and 100 lines, measuring at each size",
			Why: "At each size every user asks who it is three times; the lab records the bytes of the credential each request carries (Cookie or Authorization header), " +
				"what the instances (/stats) and Redis hold, and the latency.",
			Run: measureCost,
		},
	},
	Expect: []scenarios.Expectation{
		sendsSame(statelab.Memory), holdsMore(statelab.Memory),
		sendsSame(statelab.Redis), holdsMore(statelab.Redis),
		sendsMore(statelab.JWT), holdsNothing(statelab.JWT),
	},
	Lesson: func(res *scenarios.Result) string {
		f := func(v statelab.Variant, i int) costFigures { return res.Facts["cost "+string(v)].([]costFigures)[i] }
		last := len(costSizes) - 1
		return fmt.Sprintf("at %d items a jwt request carried %d bytes of token where memory and redis carried a %d-byte cookie, and the jwt servers held nothing; "+
			"memory held %d bytes per session in its own heap, redis %d bytes per session in Redis. Stateless moves the session into every request: "+
			"cheaper servers, larger requests, and a client that must carry it all.",
			costSizes[last], f(statelab.JWT, last).credential, f(statelab.Memory, last).credential, f(statelab.Memory, last).held, f(statelab.Redis, last).held)
	},
}

func measureCost(r *scenarios.Run) error {
	figures := map[statelab.Variant][]costFigures{}
	for _, size := range costSizes {
		var mu sync.Mutex
		failed := 0
		r.EachUser(func(u *scenarios.User) {
			for len(u.Cart()) < size {
				if !u.Add(r.Context(), statelab.Item{Item: fmt.Sprintf("sku-%03d", len(u.Cart())+1), Qty: 1}).OK() {
					mu.Lock()
					failed++
					mu.Unlock()
					return
				}
			}
		})
		if err := r.Context().Err(); err != nil {
			return err
		}
		if failed > 0 {
			return fmt.Errorf("%d users could not grow their cart to %d items", failed, size)
		}
		v, err := r.Probe(plural(size, "item"), 3)
		if err != nil {
			return err
		}
		for _, va := range statelab.Variants {
			users := int64(v.Tallies[va].Users)
			fig := costFigures{items: size, credential: scenarios.Median(v.Cred[va]), median: ms(r.SampleLatency(va, 30))}
			switch va {
			case statelab.Redis:
				_, bytes, err := r.RT.RedisStats(r.Context())
				if err != nil {
					return err
				}
				fig.held, fig.where = bytes/max(users, 1), "Redis"
			default:
				_, bytes, err := r.Held(va)
				if err != nil {
					return err
				}
				fig.held, fig.where = bytes/max(users, 1), "the instances"
			}
			figures[va] = append(figures[va], fig)
		}
	}
	t := scenarios.Table{
		Title:   "cost per session as the cart grows (credential: Cookie and Authorization headers, median of every request; GET /me: median of 30 alone)",
		Columns: []string{"variant", "items", "credential bytes per request", "bytes held per session", "held in", "GET /me"},
	}
	for _, va := range statelab.Variants {
		r.Fact("cost "+string(va), figures[va])
		for _, f := range figures[va] {
			t.Rows = append(t.Rows, []string{string(va), fmt.Sprint(f.items), fmt.Sprint(f.credential), fmt.Sprint(f.held), f.where, f.median})
		}
	}
	r.AddTable(t)
	return nil
}

func costOf(res *scenarios.Result, v statelab.Variant) []costFigures {
	f, _ := res.Facts["cost "+string(v)].([]costFigures)
	return f
}

func sendsSame(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "sends the same small cookie whatever the cart", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		if len(f) == 0 {
			return false, "no figures"
		}
		first, last := f[0].credential, f[len(f)-1].credential
		return first == last && first < 300, fmt.Sprintf("%d bytes at %s, %d at %s", first, plural(f[0].items, "item"), last, plural(f[len(f)-1].items, "item"))
	}}
}

func sendsMore(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "sends the whole cart in every request: the token grows with it", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		if len(f) == 0 {
			return false, "no figures"
		}
		first, last := f[0].credential, f[len(f)-1].credential
		return last > 5*first, fmt.Sprintf("%d bytes at %s, %d at %s", first, plural(f[0].items, "item"), last, plural(f[len(f)-1].items, "item"))
	}}
}

func holdsMore(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "holds the cart on the server side: more bytes per session as it grows", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		if len(f) == 0 {
			return false, "no figures"
		}
		first, last := f[0].held, f[len(f)-1].held
		return first > 0 && last > 5*first, fmt.Sprintf("%d bytes per session in %s at %s, %d at %s", first, f[0].where, plural(f[0].items, "item"), last, plural(f[len(f)-1].items, "item"))
	}}
}

func holdsNothing(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "holds nothing per session on the server side", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		if len(f) == 0 {
			return false, "no figures"
		}
		for _, x := range f {
			if x.held != 0 {
				return false, fmt.Sprintf("%d bytes per session at %s", x.held, plural(x.items, "item"))
			}
		}
		return true, "0 bytes at every size"
	}}
}

// plural says "at 1 item", "at 10 items".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("at %d %s", n, what)
	}
	return fmt.Sprintf("at %d %ss", n, what)
}
