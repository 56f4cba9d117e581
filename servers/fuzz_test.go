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
	mem.Handler().ServeHTTP(rec, jsonRequest("POST", "/login", `{"user":"a","password":"statelab"}`))
	cookie := ""
	if cs := rec.Result().Cookies(); len(cs) > 0 {
		cookie = cs[0].Value
	}
	rec = httptest.NewRecorder()
	tok.Handler().ServeHTTP(rec, jsonRequest("POST", "/login", `{"user":"a","password":"statelab"}`))
	token := ""
	if i := strings.Index(rec.Body.String(), `"token":"`); i >= 0 {
		token = strings.SplitN(rec.Body.String()[i+9:], `"`, 2)[0]
	}
	f.Add(cookie, "Bearer "+token, `{"item":"apple","qty":2}`, "application/json", "")
	f.Add("", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", `{"user":"a","password":"statelab"}`, "application/json; charset=utf-8", "http://localhost")
	f.Add("MTc|x|y", "bearer  ", `{"qty":1e999}`, "text/plain", "null")
	f.Add("%%%", "Basic abc", `{"item":"\ud800","qty":1}`, "application/json;;", "http://[::1")
	f.Add(cookie, "Bearer "+token+"x", `{"item":"`+strings.Repeat("𝔞", 40)+`","qty":99}`, "multipart/form-data; boundary=", "http://evil.example")

	f.Fuzz(func(t *testing.T, cookie, auth, body, ctype, origin string) {
		for _, h := range []http.Handler{mem.Handler(), tok.Handler()} {
			for _, target := range []string{"GET /me", "POST /cart", "POST /login", "POST /logout"} {
				method, path, _ := strings.Cut(target, " ")
				req := jsonRequest(method, path, body)
				req.Header.Set("Cookie", statelab.SessionCookie+"="+cookie)
				req.Header.Set("Authorization", auth)
				if ctype != "" {
					req.Header.Set("Content-Type", ctype)
				}
				if origin != "" {
					req.Header.Set("Origin", origin)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					t.Fatalf("%s with cookie %q, auth %q, body %q, type %q, origin %q: status %d: %s", target, cookie, auth, body, ctype, origin, rec.Code, rec.Body)
				}
			}
		}
	})
}

// jsonRequest is a request as the lab's clients send it: writes as JSON.
func jsonRequest(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
