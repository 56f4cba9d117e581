package servers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"statelab"

	"statelab/servers"
)

// FuzzCredentials feeds arbitrary cookies, bearer tokens and bodies to the
// memory and jwt variants: whatever comes in, the answer is a 2xx or a 4xx,
// never a panic or a 500. Run longer with:
//
//	go test -run '^$' -fuzz FuzzCredentials -fuzztime 60s ./servers/
func FuzzCredentials(f *testing.F) {
	mem, err := servers.New(servers.Config{Variant: statelab.Memory, Name: "m"})
	if err != nil {
		f.Fatal(err)
	}
	tok, err := servers.New(servers.Config{Variant: statelab.JWT, Name: "j"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { mem.Close(); tok.Close() })

	// Seeds: a real cookie and a real token, and some classics.
	rec := httptest.NewRecorder()
	mem.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/login", strings.NewReader(`{"user":"a","password":"statelab"}`)))
	cookie := ""
	if cs := rec.Result().Cookies(); len(cs) > 0 {
		cookie = cs[0].Value
	}
	rec = httptest.NewRecorder()
	tok.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/login", strings.NewReader(`{"user":"a","password":"statelab"}`)))
	token := ""
	if i := strings.Index(rec.Body.String(), `"token":"`); i >= 0 {
		token = strings.SplitN(rec.Body.String()[i+9:], `"`, 2)[0]
	}
	f.Add(cookie, "Bearer "+token, `{"item":"apple","qty":2}`)
	f.Add("", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", `{"user":"a","password":"statelab"}`)
	f.Add("MTc|x|y", "bearer  ", `{"qty":1e999}`)
	f.Add("%%%", "Basic abc", `{"item":"\ud800","qty":1}`)

	f.Fuzz(func(t *testing.T, cookie, auth, body string) {
		for _, h := range []http.Handler{mem.Handler(), tok.Handler()} {
			for _, target := range []string{"GET /me", "POST /cart", "POST /login", "POST /logout"} {
				method, path, _ := strings.Cut(target, " ")
				req := httptest.NewRequest(method, path, strings.NewReader(body))
				req.Header.Set("Cookie", statelab.SessionCookie+"="+cookie)
				req.Header.Set("Authorization", auth)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Fatalf("%s with cookie %q, auth %q, body %q: status %d: %s", target, cookie, auth, body, rec.Code, rec.Body)
				}
			}
		}
	})
}
