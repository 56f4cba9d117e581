package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"statelab"
)

// How a user judges the answer to "who am I?": against the cart it expects,
// allowing for the writes whose answers never came.

// Probe asks who the user is and judges the answer.
func (u *User) Probe(ctx context.Context) (Outcome, Response) {
	r := u.do(ctx, http.MethodGet, "/me", nil)
	o := u.judge(&r)
	u.report(u, "GET", "/me", r, o)
	return o, r
}

// judge says what an answer to GET /me meant for the user, and why
// (r.Cause).
func (u *User) judge(r *Response) Outcome {
	switch {
	case r.Err != nil || r.Status >= 500 || r.Status == 0:
		r.Cause = AnswerCause(*r)
		return Unavailable
	case r.Status == http.StatusUnauthorized && u.noLogin != "":
		// No session to refuse or lose: the user never got one.
		r.Cause = u.noLogin
		return Unavailable
	case r.Status == http.StatusUnauthorized:
		if why := u.world.Gone(u); why != "" {
			r.Gone, r.Cause = why, why
			return Lost
		}
		r.Cause = r.Body.Error
		return Refused
	case r.Status != http.StatusOK:
		r.Cause = AnswerCause(*r)
		return Unavailable
	case r.Body.User != u.Name:
		r.Cause = fmt.Sprintf("answered as %q", r.Body.User)
		return WrongUser
	}
	o, cause, applied := compareCarts(u.cart, r.Body.Cart, u.uncertain)
	r.Cause = cause
	if len(applied) > 0 {
		// What the instance applied is the user's cart from now on.
		for _, it := range applied {
			u.cart = addItem(u.cart, it)
			i := slices.Index(u.uncertain, it)
			u.uncertain = slices.Delete(u.uncertain, i, i+1)
		}
		if !slices.Equal(u.cart, r.Body.Cart) {
			u.cart = slices.Clone(r.Body.Cart) // the same lines in the server's order
		}
	}
	return o
}

// compareCarts judges the cart a server gave back against the one the user
// expects: the same (kept); the same plus changes the user sent that were
// answered 5xx or not at all (kept: the instance applied them before it
// failed to answer; applied lists them); one with more of something (a
// change applied twice: duplicated); or one missing something (lost data).
// cause says how the cart differs, when it does.
func compareCarts(want, got, uncertain []statelab.Item) (o Outcome, cause string, applied []statelab.Item) {
	if slices.Equal(want, got) {
		return Kept, "", nil
	}
	wantQty, gotQty := map[string]int{}, map[string]int{}
	for _, it := range want {
		wantQty[it.Item] += it.Qty
	}
	for _, it := range got {
		gotQty[it.Item] += it.Qty
	}
	var missing, extra []string
	for _, it := range want {
		if d := wantQty[it.Item] - gotQty[it.Item]; d > 0 && !slices.Contains(missing, it.Item) {
			missing = append(missing, it.Item)
		}
	}
	if len(missing) > 0 {
		return LostData, "the cart lacks " + strings.Join(missing, ", "), nil
	}
	excess := map[string]int{}
	for _, it := range got {
		if d := gotQty[it.Item] - wantQty[it.Item]; d > 0 && excess[it.Item] == 0 {
			excess[it.Item] = d
			extra = append(extra, fmt.Sprintf("%s ×%d", it.Item, d))
		}
	}
	if len(extra) == 0 {
		return LostData, "the cart holds the same items in another order", nil
	}
	if applied, ok := explainedBy(excess, uncertain); ok {
		return Kept, fmt.Sprintf("the cart also holds %s, sent in a request answered with an error or not at all: the instance applied it before that answer", strings.Join(extra, ", ")), applied
	}
	return Duplicated, "the cart holds " + strings.Join(extra, ", ") + " more than the user added", nil
}

// explainedBy finds changes among the unanswered ones that add up, item by
// item, to exactly the excess.
func explainedBy(excess map[string]int, uncertain []statelab.Item) ([]statelab.Item, bool) {
	var applied []statelab.Item
	for item, want := range excess {
		var qtys []statelab.Item
		for _, it := range uncertain {
			if it.Item == item {
				qtys = append(qtys, it)
			}
		}
		// Every subset of a few changes: maxUncertain bounds them.
		found := false
		for mask := 1; mask < 1<<len(qtys) && !found; mask++ {
			sum := 0
			for i, it := range qtys {
				if mask&(1<<i) != 0 {
					sum += it.Qty
				}
			}
			if sum == want {
				for i, it := range qtys {
					if mask&(1<<i) != 0 {
						applied = append(applied, it)
					}
				}
				found = true
			}
		}
		if !found {
			return nil, false
		}
	}
	return applied, true
}

func addItem(cart []statelab.Item, it statelab.Item) []statelab.Item {
	out := slices.Clone(cart)
	for i := range out {
		if out[i].Item == it.Item {
			out[i].Qty += it.Qty
			return out
		}
	}
	return append(out, it)
}
