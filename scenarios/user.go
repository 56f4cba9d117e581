package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"statelab"
)

// User is a virtual user of one variant. It holds its cookies and its token
// as a browser or an app would, and remembers what its cart should hold: the
// items the servers acknowledged.
type User struct {
	Name    string
	Variant statelab.Variant
	// Plan is the items this user adds, in order.
	Plan []statelab.Item

	base      *url.URL
	transport http.RoundTripper
	// cookies is the user's cookie jar: a browser's, for the one host it
	// talks to (name and value; the lab sets no other attributes that
	// matter to a client on one host).
	cookies []cookie
	token   string
	cart    []statelab.Item
	// Instance answered the user's last request.
	Instance string
	// Origin is where and when the user's session began: the instance that
	// answered its last successful login.
	Origin Origin
	// tokenExp is when the token the user holds expires (zero: no token,
	// or none that says).
	tokenExp time.Time
	// saved is the credential held before logout, for replay.
	savedCookies []cookie
	savedToken   string
	// noLogin, when the user's last login failed, says how: the user has
	// no session of that login, so a 401 is not a refusal or a loss.
	noLogin string
	// uncertain are cart changes the user sent that were answered 5xx or
	// not at all: the instance may have applied them anyway.
	uncertain []statelab.Item
	report    Reporter
	world     World
	live      *live // the open /live connection, if any
}

// Origin is where and when a session began.
type Origin struct {
	Instance string
	At       time.Time
}

// World tells a user what became of the place its session lives in: a 401
// for a session that still exists somewhere is a refusal, one for a session
// gone for good a loss.
type World interface {
	// Gone says why the session u got at its last login can no longer
	// exist anywhere ("" when it still may): the instance that held it
	// ended, the store that held it lost its data, or its only copy
	// expired.
	Gone(u *User) string
}

// Reporter receives every request a user made, its answer, and the
// judgement when the request was a probe (else ""). A run records them in
// its journal and tells its observers.
type Reporter func(u *User, method, path string, resp Response, o Outcome)

// Response is one answer, as a user sees it.
type Response struct {
	Status    int
	Instance  string
	Repinned  string
	Body      statelab.Body
	Err       error
	Took      time.Duration
	CredBytes int // bytes of the credential the request carried (see credBytes)
	// CookieTooLarge, on a refused change of the cookie variant, is the
	// bytes its session cookie would have had (statelab.CookieTooLargeHeader).
	CookieTooLarge int
	// Gone, when the answer meant the session was lost, says why.
	Gone string
	// Cause, when a probe judged the answer, says why it meant what it
	// meant: the instance's or the balancer's words, why the session is
	// gone, or how the cart differs.
	Cause string
}

// OK reports a complete 200 answer.
func (r Response) OK() bool { return r.Err == nil && r.Status == http.StatusOK }

// NewUser makes a user of variant v who talks to the pool at base and adds
// plan's items when filled. report, when not nil, receives every request;
// world, when not nil, says which sessions are gone for good (without one,
// every 401 is a refusal).
func NewUser(v statelab.Variant, name string, plan []statelab.Item, base string, transport http.RoundTripper, report Reporter, world World) (*User, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the %s pool's URL %q: want http://host:port", v, base)
	}
	if report == nil {
		report = func(*User, string, string, Response, Outcome) {}
	}
	if world == nil {
		world = noWorld{}
	}
	return &User{Name: name, Variant: v, Plan: plan, base: u, transport: transport, report: report, world: world}, nil
}

type noWorld struct{}

func (noWorld) Gone(*User) string { return "" }

// do sends one request and records it in the journal; header, in pairs,
// adds headers.
func (u *User) do(ctx context.Context, method, path string, body any, header ...string) Response {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base.JoinPath(path).String(), rd)
	if err != nil {
		return Response{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	if h := cookieHeader(u.cookies); h != "" {
		req.Header.Set("Cookie", h)
	}
	start := time.Now()
	resp, err := u.transport.RoundTrip(req)
	r := Response{Took: time.Since(start), Err: err}
	r.CredBytes = credBytes(req)
	if err == nil {
		u.setCookies(resp)
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		r.Status = resp.StatusCode
		r.Instance = resp.Header.Get(statelab.InstanceHeader)
		r.Repinned = resp.Header.Get(statelab.RepinnedHeader)
		r.CookieTooLarge, _ = strconv.Atoi(resp.Header.Get(statelab.CookieTooLargeHeader))
		if rerr != nil {
			// A response cut short is no answer, whatever its status said.
			r.Err = fmt.Errorf("reading the response: %w", rerr)
		} else if jerr := json.Unmarshal(data, &r.Body); jerr != nil && r.Status < 500 {
			r.Err = fmt.Errorf("malformed response (%s): %w", resp.Status, jerr)
		}
		if r.Instance != "" {
			u.Instance = r.Instance
		}
		if r.Body.Token != "" {
			u.token = r.Body.Token
			u.tokenExp = expiry(u.token)
		}
	}
	return r
}

// Login logs the user in; on success its cart is empty. When it fails
// (a 5xx, a timeout, no answer), the user has no session of this login,
// and a later 401 is judged unavailable for that reason, never refused or
// lost.
func (u *User) Login(ctx context.Context) Response {
	r := u.do(ctx, http.MethodPost, "/login", statelab.Login{User: u.Name, Password: statelab.DemoPassword})
	if r.OK() {
		u.cart = []statelab.Item{}
		u.uncertain = nil
		u.noLogin = ""
		u.Origin = Origin{Instance: r.Instance, At: time.Now()}
	} else {
		u.noLogin = "its login failed: " + AnswerCause(r)
	}
	u.report(u, "POST", "/login", r, "")
	return r
}

// LoginFailed says how the user's last login failed ("" when it did not).
func (u *User) LoginFailed() string { return u.noLogin }

// AnswerCause says, for a request that was not answered 200, what came
// back: "503 session store unavailable: redis: i/o timeout (263 ms)", or
// "no answer: ..." when none did.
func AnswerCause(r Response) string {
	took := Seconds(r.Took.Seconds())
	switch {
	case r.Err != nil:
		return fmt.Sprintf("no answer after %s: %s", took, r.Err)
	case r.Body.Error != "":
		return fmt.Sprintf("%d %s (%s)", r.Status, r.Body.Error, took)
	}
	return fmt.Sprintf("%d %s (%s)", r.Status, http.StatusText(r.Status), took)
}

// maxUncertain bounds the unanswered changes a user remembers.
const maxUncertain = 16

// sent records what became of a cart change: acknowledged (or refused only
// because the cookie could not hold it), it is in the cart the user
// expects, and a change sent again after an unanswered one is the same
// change twice; unanswered (5xx or none), it may or may not have been
// applied.
func (u *User) sent(it statelab.Item, r Response) {
	switch {
	case r.OK() || r.CookieTooLarge > 0:
		u.cart = addItem(u.cart, it)
		if i := slices.Index(u.uncertain, it); i >= 0 {
			u.uncertain = slices.Delete(u.uncertain, i, i+1)
		}
	case r.Err != nil || r.Status >= 500 || r.Status == 0:
		if slices.Contains(u.uncertain, it) {
			return // the same change sent again: applied twice, it is a duplicate
		}
		u.uncertain = append(u.uncertain, it)
		if len(u.uncertain) > maxUncertain {
			u.uncertain = u.uncertain[1:]
		}
	}
}

// Add adds an item; the user's expected cart changes if the server
// acknowledges it, or if it refused it only because the session no longer
// fits in a cookie: the shopper wanted the item, and the site could not
// keep it (lost data, not a refusal the shopper could fix).
func (u *User) Add(ctx context.Context, it statelab.Item) Response {
	r := u.do(ctx, http.MethodPost, "/cart", it)
	u.sent(it, r)
	u.report(u, "POST", "/cart", r, "")
	return r
}

// AddKeyed adds an item with an Idempotency-Key: sent again with the same
// key, the change is applied once. Empty key: no header.
func (u *User) AddKeyed(ctx context.Context, it statelab.Item, key string) Response {
	if key == "" {
		return u.Add(ctx, it)
	}
	r := u.do(ctx, http.MethodPost, "/cart", it, statelab.IdempotencyKeyHeader, key)
	u.sent(it, r)
	u.report(u, "POST", "/cart", r, "")
	return r
}

// Fill logs the user in and adds the planned items. It reports whether
// every request succeeded.
func (u *User) Fill(ctx context.Context) bool {
	sent, failed := u.FillCount(ctx)
	return sent > 0 && failed == 0
}

// FillCount logs the user in and adds the planned items, and counts the
// requests it sent and those that were not answered 200. A user whose
// login failed adds nothing: it has no session to add to.
func (u *User) FillCount(ctx context.Context) (sent, failed int) {
	count := func(r Response) {
		sent++
		if !r.OK() {
			failed++
		}
	}
	login := u.Login(ctx)
	count(login)
	if !login.OK() {
		return sent, failed
	}
	for _, it := range u.Plan {
		count(u.Add(ctx, it))
	}
	return sent, failed
}

// ForgetAffinity drops the balancer's sticky cookie, as when a balancer is
// replaced or its affinity is reset: the next request is routed afresh.
func (u *User) ForgetAffinity() {
	u.cookies = slices.DeleteFunc(u.cookies, func(c cookie) bool { return strings.HasPrefix(c.name, statelab.AffinityCookie) })
}

// Cart is what the user expects its cart to hold.
func (u *User) Cart() []statelab.Item { return u.cart }
