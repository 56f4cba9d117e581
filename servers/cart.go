package servers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"statelab"
)

func (s *Server) addToCart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Item *string `json:"item"`
		Qty  *int    `json:"qty"`
	}
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Item == nil || req.Qty == nil {
		s.fail(w, r, badRequest(`want {"item":"apple","qty":2}: item and qty are required`))
		return
	}
	if err := validItem(*req.Item); err != nil {
		s.fail(w, r, err)
		return
	}
	if *req.Qty < 1 || *req.Qty > statelab.MaxQty {
		s.fail(w, r, badRequest("qty %d out of range: want 1 to %d", *req.Qty, statelab.MaxQty))
		return
	}
	key, err := idempotencyKey(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.sessions.Current(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	applied := ""
	if key != "" {
		// One change per key at a time on this instance: a retry sent
		// while the first try is still being served waits for its answer.
		// (Two instances of the redis variant could still both apply one
		// key, read then written: a Redis lock per key would close that.)
		inflight := st.User + "\x00" + key
		if _, busy := s.applying.LoadOrStore(inflight, struct{}{}); busy {
			s.fail(w, r, &statusError{http.StatusConflict, "a change with this Idempotency-Key is still being applied: send it again once that one has answered"})
			return
		}
		defer s.applying.Delete(inflight)
		applied = appliedEntry(key, *req.Item, *req.Qty)
		for _, a := range st.Applied {
			k, _, _ := strings.Cut(a, " ")
			switch {
			case a == applied:
				s.reply(w, http.StatusOK, statelab.Body{User: st.User, Cart: nonNil(st.Cart),
					Note: "this Idempotency-Key was applied already: the change is not applied again"})
				return
			case k == key:
				s.fail(w, r, &statusError{http.StatusUnprocessableEntity, "this Idempotency-Key was used for another change: a key names one change"})
				return
			}
		}
	}
	cart, err := addItem(st.Cart, *req.Item, *req.Qty)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st.Cart = cart
	if applied != "" {
		st.Applied = append(st.Applied, applied)
		st.Applied = st.Applied[max(0, len(st.Applied)-statelab.MaxIdempotencyKeys):]
	}
	token, err := s.sessions.Update(w, r, st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.crashIfArmed()
	s.reply(w, http.StatusOK, statelab.Body{User: st.User, Cart: st.Cart, Token: token})
}

// appliedEntry is how a session remembers an applied change: its key and a
// digest of the change, so that the key sent with another change is told
// apart.
func appliedEntry(key, item string, qty int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", item, qty)))
	return key + " " + hex.EncodeToString(sum[:6])
}

// idempotencyKey is the request's Idempotency-Key: "" when it has none, an
// error when it is not 1 to MaxIdempotencyKeyLen visible ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	vs := r.Header.Values(statelab.IdempotencyKeyHeader)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", badRequest("more than one %s header", statelab.IdempotencyKeyHeader)
	}
	k := vs[0]
	if k == "" || len(k) > statelab.MaxIdempotencyKeyLen {
		return "", badRequest("%s: want 1 to %d characters", statelab.IdempotencyKeyHeader, statelab.MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return "", badRequest("%s: want visible ASCII characters only", statelab.IdempotencyKeyHeader)
		}
	}
	return k, nil
}

// tooLarge is a 413 in these words.
func tooLarge(format string, args ...any) error {
	return &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf(format, args...)}
}

// addItem adds qty of item to cart: to its line if it has one, else as a new
// line at the end.
func addItem(cart []statelab.Item, item string, qty int) ([]statelab.Item, error) {
	out := make([]statelab.Item, len(cart), len(cart)+1)
	copy(out, cart)
	for i := range out {
		if out[i].Item == item {
			if out[i].Qty+qty > statelab.MaxLineQty {
				return nil, tooLarge("a cart line holds at most %d of an item", statelab.MaxLineQty)
			}
			out[i].Qty += qty
			return out, nil
		}
	}
	if len(out) >= statelab.MaxCartLines {
		return nil, tooLarge("the cart is full: at most %d lines", statelab.MaxCartLines)
	}
	return append(out, statelab.Item{Item: item, Qty: qty}), nil
}

// validCart checks a cart that came from outside (a token): the limits a
// cart built here keeps.
func validCart(cart []statelab.Item) error {
	if len(cart) > statelab.MaxCartLines {
		return tooLarge("the cart has more than %d lines", statelab.MaxCartLines)
	}
	seen := make(map[string]bool, len(cart))
	for _, it := range cart {
		if err := validItem(it.Item); err != nil {
			return err
		}
		if it.Qty < 1 || it.Qty > statelab.MaxLineQty || seen[it.Item] {
			return badRequest("a cart line is out of range or repeated")
		}
		seen[it.Item] = true
	}
	return nil
}
