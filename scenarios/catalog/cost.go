package catalog

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
	"statelab/scenarios/vocab"
)

// costSizes are the cart sizes the cost scenario measures at.
var costSizes = []int{1, 10, 100}

// costFigures is one row of the cost table: what a session of one variant
// costs at one cart size.
type costFigures struct {
	Items int `json:"items"`
	// Credential is the median bytes of the Cookie and Authorization
	// headers a request carried.
	Credential int `json:"credential_bytes"`
	// Held is the bytes held per session on the server side; Where, where.
	Held  int64  `json:"held_bytes"`
	Where string `json:"held_in"`
	// Millis is the median latency of GET /me, one request alone.
	Millis float64 `json:"get_me_ms"`
}

// cost: carts grow to 1, 10 and 100 items; what each variant sends per
// request and holds per session.
var cost = &scenarios.Scenario{
	Name:     "cost",
	Summary:  "carts grow to 1, 10 and 100 items: bytes sent per request against bytes held per session",
	Setup:    "sticky routing; every user's cart grows to 1, then 10, then 100 items",
	Claims:   []scenarios.Claim{claimRequestSize, claimResources, claimSignedCookies, claimTokenSize},
	Needs:    []lab.Capability{lab.MeterRedis},
	MaxUsers: 10,
	Steps: []scenarios.Step{
		vocab.Sticky(),
		{
			Title: "log every user in",
			Why:   "An empty cart.",
			Run: func(r *scenarios.Run) error {
				r.EachUser(func(u *scenarios.User) { u.Login(r.Context()) })
				return r.Context().Err()
			},
		},
		{
			Title: "grow every cart to 1, 10 and 100 items, measuring at each size",
			Why: "At each size every user asks who it is three times; the lab records the credential each request carries, what the instances and Redis hold, " +
				"and one request's latency.",
			Run: measureCost,
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if d.ServerHolds() {
			return []scenarios.Expectation{sendsSame(v), holdsMore(v)}
		}
		out := []scenarios.Expectation{sendsMore(v), holdsNothing(v)}
		if !d.Bearer && d.MaxBytes > 0 {
			out = append(out, losesWhatOverflows(v))
		}
		return out
	},
	Verdict: "100 items in the cart",
	Lesson: func(res *scenarios.Result) string {
		jwtF, memF, redisF := costOf(res, inToken), costOf(res, inProcess), costOf(res, inStore)
		if len(jwtF) == 0 || len(memF) == 0 || len(redisF) == 0 {
			return "The cost was not measured: see the error above."
		}
		j, m, r := jwtF[len(jwtF)-1], memF[len(memF)-1], redisF[len(redisF)-1]
		s := fmt.Sprintf("At %d items a jwt request carried a %d-byte Authorization header, memory and redis requests a %d- and a %d-byte session cookie; "+
			"the jwt instances held %d bytes per session, the memory instances %d (the session's id and encoded cart), Redis %d. ",
			j.Items, j.Credential, m.Credential, r.Credential, j.Held, m.Held, r.Held)
		if o, ok := res.Facts["cookie overflow"].(overflow); ok && o.Users > 0 {
			lost, of := users(res, lastCostProbe(), inCookie, scenarios.LostData)
			s += fmt.Sprintf("The cookie variant carries the whole session in its cookie: at %d items it would have been %d bytes, over the 4096 a browser keeps, so the server refused to save the change (413); "+
				"%d of %d cookie users lost the items they added past that point (lost data; the table's last cookie figure is the cookie they still hold, at %d items), "+
				"while the jwt token, which the client keeps itself and sends as Authorization, under no per-cookie limit (proxies' own header limits still apply), was %d bytes at %d items. ",
				o.At, o.Bytes, lost, of, o.Saved, j.Credential, j.Items)
		}
		return s + "Stateless moves the session into every request: larger requests, nothing held, and, for a cookie, a ceiling on what a session can hold. This scenario counts bytes; lab bench measures the CPU per request."
	},
}

func measureCost(r *scenarios.Run) error {
	figures := map[statelab.Variant][]costFigures{}
	var over overflow
	defer func() { r.Fact("cookie overflow", over) }()
	for _, size := range costSizes {
		var mu sync.Mutex
		failed := map[statelab.Variant]int{}
		why := ""
		r.EachUser(func(u *scenarios.User) {
			for len(u.Cart()) < size {
				n := len(u.Cart()) + 1
				resp := u.Add(r.Context(), statelab.Item{Item: fmt.Sprintf("sku-%03d", n), Qty: 1})
				mu.Lock()
				switch {
				case resp.CookieTooLarge > 0:
					// The item is lost, not refused: the shopper goes on.
					over.add(u.Name, n, resp.CookieTooLarge)
				case !resp.OK():
					failed[u.Variant]++
					if why == "" {
						why = fmt.Sprintf("%s's POST /cart of item %d: %d %s%v", u.Name, n, resp.Status, resp.Body.Error, errOrNil(resp.Err))
					}
				}
				mu.Unlock()
				if !resp.OK() && resp.CookieTooLarge == 0 {
					return
				}
			}
		})
		if err := r.Context().Err(); err != nil {
			return err
		}
		if len(failed) > 0 {
			var who []statelab.Variant
			for _, v := range statelab.Variants {
				if failed[v] > 0 {
					who = append(who, v)
				}
			}
			return fmt.Errorf("%s users could not grow their cart to %d items (first: %s)", perVariant(who, func(v statelab.Variant) int { return failed[v] }), size, why)
		}
		v, err := r.Probe(fmt.Sprintf("%s in the cart", plural(size, "item")), 3)
		if err != nil {
			return err
		}
		for _, va := range statelab.Variants {
			users := int64(v.Tallies[va].Users)
			fig := costFigures{Items: size, Credential: scenarios.Median(v.Cred(va)), Millis: ms(r.SampleLatency(va, 30))}
			switch va {
			case inStore:
				_, bytes, err := lab.RedisStats(r.Context(), r.RT)
				if err != nil {
					return err
				}
				fig.Held, fig.Where = bytes/max(users, 1), "Redis"
			case inToken, inCookie:
				_, bytes, err := r.Held(va)
				if err != nil {
					return err
				}
				fig.Held, fig.Where = bytes/max(users, 1), "nowhere"
				if bytes > 0 {
					fig.Where = "the instances"
				}
			default:
				_, bytes, err := r.Held(va)
				if err != nil {
					return err
				}
				fig.Held, fig.Where = bytes/max(users, 1), "the instances"
			}
			figures[va] = append(figures[va], fig)
		}
	}
	sizes := make([]string, len(costSizes))
	for i, n := range costSizes {
		sizes[i] = fmt.Sprint(n)
	}
	t := scenarios.Table{
		Title: "cost per session with " + vocab.And(sizes) + " items in the cart (credential: the session cookie or the Authorization header, as sent, " +
			"the balancer's routing cookie left out, median of every request; GET /me: median of 30, one request alone)",
		Columns: []string{"variant", "credential, bytes", "held per session, bytes", "held in", "GET /me"},
	}
	for _, va := range statelab.Variants {
		r.Fact("cost "+string(va), figures[va])
		var cred, held, took []string
		for _, f := range figures[va] {
			cred = append(cred, fmt.Sprint(f.Credential))
			held = append(held, fmt.Sprint(f.Held))
			took = append(took, scenarios.Millis(f.Millis))
		}
		where := ""
		if len(figures[va]) > 0 {
			where = strings.TrimPrefix(figures[va][0].Where, "the ") // "instances": the table fits 80 columns
		}
		t.Rows = append(t.Rows, []string{string(va), strings.Join(cred, " · "), strings.Join(held, " · "), where, strings.Join(took, " · ")})
	}
	r.AddTable(t)
	return nil
}

// overflow is when the cookie variant's cookie first outgrew what a browser
// keeps: the smallest cart that no longer fit, the cookie's size then, and
// how many users met it.
type overflow struct {
	At    int `json:"at_items"`
	Bytes int `json:"cookie_bytes"`
	Users int `json:"users"`
	// Saved is the most items a cookie held: the cart before At.
	Saved int `json:"saved_items"`
	// Status is what the server answered each change that did not fit.
	Status int `json:"status"`
	seen   map[string]bool
}

// add records that user's cookie would have been bytes at n items.
func (o *overflow) add(user string, n, bytes int) {
	if o.At == 0 || n < o.At {
		o.At, o.Bytes, o.Saved = n, bytes, n-1
	}
	o.Status = http.StatusRequestEntityTooLarge
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if !o.seen[user] {
		o.seen[user] = true
		o.Users++
	}
}

func lastCostProbe() string {
	return fmt.Sprintf("%s in the cart", plural(costSizes[len(costSizes)-1], "item"))
}

// losesWhatOverflows: at the largest cart, every user whose cookie outgrew
// what a browser keeps lost data, and every other user was kept; the
// counts come from the 413s the users met.
func losesWhatOverflows(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "loses the items that no longer fit in a 4096-byte cookie (lost data), and nothing else", Check: func(res *scenarios.Result) (bool, string) {
		o, _ := res.Facts["cookie overflow"].(overflow)
		lost, of := users(res, lastCostProbe(), v, scenarios.LostData)
		kept, _ := users(res, lastCostProbe(), v, scenarios.Kept)
		if o.Users == 0 {
			return false, fmt.Sprintf("no cart outgrew the cookie; %d of %d users lost data", lost, of)
		}
		return lost == o.Users && kept == of-o.Users, fmt.Sprintf("the cookie outgrew 4096 bytes at %d items (%d bytes) for %d users; at %d items %d of %d users lost data, %d kept",
			o.At, o.Bytes, o.Users, costSizes[len(costSizes)-1], lost, of, kept)
	}}
}

func errOrNil(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}

func costOf(res *scenarios.Result, v statelab.Variant) []costFigures {
	f, _ := res.Facts["cost "+string(v)].([]costFigures)
	return f
}

func credentialOf(f costFigures) int64 { return int64(f.Credential) }
func heldOf(f costFigures) int64       { return f.Held }

// growing reports whether each figure is larger than the one before.
func growing(f []costFigures, value func(costFigures) int64) bool {
	for i := 1; i < len(f); i++ {
		if value(f[i]) <= value(f[i-1]) {
			return false
		}
	}
	return len(f) > 1
}

func sendsSame(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "sends the same cookie whatever the cart", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		same := len(f) > 0 && !slices.ContainsFunc(f, func(x costFigures) bool { return x.Credential != f[0].Credential })
		return same, "credentials of " + sizes(f, credentialOf)
	}}
}

func sendsMore(v statelab.Variant) scenarios.Expectation {
	text := "sends the whole cart in every request: the token grows with it"
	if !v.Describe().Bearer {
		text = "sends the whole cart in every request, as far as it fits: the cookie grows with it"
	}
	return scenarios.Expectation{Variant: v, Text: text, Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		return growing(f, credentialOf), "credentials of " + sizes(f, credentialOf)
	}}
}

func holdsMore(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "holds the cart on the server side: more bytes per session as it grows", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		where := ""
		if len(f) > 0 {
			where = " in " + f[0].Where
		}
		return growing(f, heldOf), sizes(f, heldOf) + " held per session" + where
	}}
}

func holdsNothing(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "holds nothing per session on the server side", Check: func(res *scenarios.Result) (bool, string) {
		f := costOf(res, v)
		nothing := len(f) > 0 && !slices.ContainsFunc(f, func(x costFigures) bool { return x.Held != 0 })
		return nothing, sizes(f, heldOf) + " held per session"
	}}
}

// plural says "1 item", "10 items".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
