package servers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"statelab"

	"statelab/internal/redisserver"
	"statelab/internal/redistest"
	"statelab/servers"
)

// BenchmarkVariant measures one request of each variant, served in process:
// GET /me and POST /cart, with the session or token a logged-in user holds.
// The redis variant needs a redis-server on PATH.
func BenchmarkVariant(b *testing.B) {
	rs := redistest.Start(b, redisserver.Options{})
	for _, v := range statelab.Variants {
		srv, err := servers.New(servers.Config{Variant: v, RedisAddr: rs.Addr})
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		// Log in once; every request then carries the credential.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, jsonRequest("POST", "/login", `{"user":"bench","password":"statelab"}`))
		if rec.Code != http.StatusOK {
			b.Fatalf("%s login: %d", v, rec.Code)
		}
		cookie := rec.Header().Get("Set-Cookie")
		token := ""
		if i := strings.Index(rec.Body.String(), `"token":"`); i >= 0 {
			token = strings.SplitN(rec.Body.String()[i+9:], `"`, 2)[0]
		}
		for _, op := range []struct{ method, path, body string }{
			{"GET", "/me", ""},
			{"POST", "/cart", `{"item":"apple","qty":1}`},
		} {
			b.Run(string(v)+"/"+op.method+op.path, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(op.method, op.path, strings.NewReader(op.body))
					req.Header.Set("Content-Type", "application/json")
					if cookie != "" {
						req.Header.Set("Cookie", strings.SplitN(cookie, ";", 2)[0])
					}
					if token != "" {
						req.Header.Set("Authorization", "Bearer "+token)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s %s: %d %s", op.method, op.path, rec.Code, rec.Body)
					}
				}
			})
		}
		srv.Close()
	}
}
