package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"statelab"
	"strings"
	"testing"
	"time"

	"statelab/internal/labredis"
	"statelab/servers"
)

// VariantRow is the cost of one request of one variant, served in process.
type VariantRow struct {
	Variant  statelab.Variant
	Request  string
	P50, P99 time.Duration
	Allocs   float64 // allocations per request
}

// SizeRow is what a session costs as its cart grows.
type SizeRow struct {
	Variant    statelab.Variant
	Items      int
	Credential int   // bytes of the Cookie or Authorization header a request carries
	Held       int64 // bytes the server side holds for the session
	Where      string
	// Saved is how many of the Items the session holds: fewer when the
	// cookie variant's cookie could hold no more.
	Saved int
}

// Variants measures each variant's handler, in process, with Redis for the
// redis variant: latency of n requests one after the other, and
// allocations per request. redisKind says which Redis it used.
func Variants(ctx context.Context, n int) (rows []VariantRow, sizes []SizeRow, redisKind string, err error) {
	redis, err := labredis.Start(ctx, labredis.Auto)
	if err != nil {
		return nil, nil, "", err
	}
	defer redis.Close()
	redisAddr, kind := redis.Addr(), redis.Describe()
	for _, v := range statelab.Variants {
		srv, err := servers.New(servers.Config{Variant: v, Name: string(v) + "-1", RedisAddr: redisAddr})
		if err != nil {
			return nil, nil, "", err
		}
		h := srv.Handler()
		c := newClient(h)
		if err := c.login("bench"); err != nil {
			srv.Close()
			return nil, nil, "", fmt.Errorf("%s: %w", v, err)
		}
		for _, op := range []struct {
			name string
			do   func() error
		}{
			{"GET /me", func() error { return c.call("GET", "/me", "") }},
			{"POST /cart", func() error { return c.call("POST", "/cart", `{"item":"apple","qty":1}`) }},
		} {
			if err := op.do(); err != nil {
				srv.Close()
				return nil, nil, "", fmt.Errorf("%s %s: %w", v, op.name, err)
			}
			lat := make([]time.Duration, 0, n)
			for i := 0; i < n; i++ {
				t0 := time.Now()
				if err := op.do(); err != nil {
					srv.Close()
					return nil, nil, "", fmt.Errorf("%s %s: %w", v, op.name, err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			allocs := testing.AllocsPerRun(200, func() { _ = op.do() })
			rows = append(rows, VariantRow{Variant: v, Request: op.name, P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], Allocs: allocs})
		}
		srv.Close()
		if err := labredis.Flush(ctx, redisAddr); err != nil {
			return nil, nil, "", err
		}

		// Sizes: a fresh session, alone, its cart grown to 1, 10 and 100 lines.
		srv, err = servers.New(servers.Config{Variant: v, Name: string(v) + "-1", RedisAddr: redisAddr})
		if err != nil {
			return nil, nil, "", err
		}
		c = newClient(srv.Handler())
		if err := c.login("sizes"); err != nil {
			srv.Close()
			return nil, nil, "", err
		}
		items, saved := 0, 0
		for _, size := range []int{1, 10, 100} {
			for ; items < size; items++ {
				err := c.call("POST", "/cart", fmt.Sprintf(`{"item":"sku-%03d","qty":1}`, items+1))
				switch {
				case err == nil:
					saved++
				case errors.Is(err, errCookieFull):
					// The cookie variant's ceiling: the cart stays as it was.
				default:
					srv.Close()
					return nil, nil, "", err
				}
			}
			st, err := stats(srv.Handler())
			if err != nil {
				srv.Close()
				return nil, nil, "", err
			}
			row := SizeRow{Variant: v, Items: size, Saved: saved, Credential: c.credential(), Where: "the instance"}
			switch {
			case st.Store != nil && st.Store.Sessions > 0:
				row.Held, row.Where = st.Store.Bytes/st.Store.Sessions, "Redis"
			case st.Sessions > 0:
				row.Held = st.Bytes / st.Sessions
			default:
				row.Where = "nowhere"
			}
			sizes = append(sizes, row)
		}
		srv.Close()
		if err := labredis.Flush(ctx, redisAddr); err != nil {
			return nil, nil, "", err
		}
	}
	return rows, sizes, kind, nil
}

// client is one user calling a handler in process, holding its cookie or
// token.
type client struct {
	h      http.Handler
	cookie string
	token  string
}

func newClient(h http.Handler) *client { return &client{h: h} }

func (c *client) login(user string) error {
	return c.call("POST", "/login", `{"user":"`+user+`","password":"statelab"}`)
}

func (c *client) call(method, path, body string) error {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Header().Get(statelab.CookieTooLargeHeader) != "" {
		return fmt.Errorf("%s %s: %w", method, path, errCookieFull)
	}
	if rec.Code != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
	for _, ck := range rec.Result().Cookies() {
		if strings.HasPrefix(ck.Name, statelab.SessionCookie) {
			c.cookie = ck.Name + "=" + ck.Value
		}
	}
	if i := strings.Index(rec.Body.String(), `"token":"`); i >= 0 {
		c.token = strings.SplitN(rec.Body.String()[i+9:], `"`, 2)[0]
	}
	return nil
}

// errCookieFull: the cookie variant refused a change its cookie could not
// carry.
var errCookieFull = errors.New("the session no longer fits in its cookie")

// credential is the size of the header that carries the session.
func (c *client) credential() int {
	if c.token != "" {
		return len("Authorization: Bearer ") + len(c.token)
	}
	return len("Cookie: ") + len(c.cookie)
}

func stats(h http.Handler) (statelab.Stats, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/stats", nil))
	var st statelab.Stats
	if rec.Code != http.StatusOK {
		return st, fmt.Errorf("/stats: %d %s", rec.Code, rec.Body)
	}
	return st, json.Unmarshal(rec.Body.Bytes(), &st)
}
