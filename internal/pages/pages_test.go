package pages_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"statelab/internal/pages"
)

// TestPolicy: each inline script is allowed by its own hash and nothing
// else; a page without one allows no script; framing is refused.
func TestPolicy(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	for _, tc := range []struct {
		page string
		want string
	}{
		{"<p>no script</p>", "script-src 'none';"},
		{"<script>a()</script>", "script-src " + hash("a()") + ";"},
		{"<script>a()</script><p><script>b()</script>", "script-src " + hash("a()") + " " + hash("b()") + ";"},
		{"<script>unclosed", "script-src 'none';"},
	} {
		p := pages.Policy([]byte(tc.page))
		if !strings.Contains(p, tc.want) || !strings.Contains(p, "frame-ancestors 'none'") {
			t.Errorf("Policy(%q) = %q, want %q and no framing", tc.page, p, tc.want)
		}
		if strings.Contains(p, "script-src 'unsafe-inline'") {
			t.Errorf("Policy(%q) allows any inline script: %q", tc.page, p)
		}
	}
}

// TestKit: a page and a page's state carry the security headers, never
// cached; the page its policy.
func TestKit(t *testing.T) {
	page := []byte("<p>hi</p><script>go()</script>")
	for name, h := range map[string]http.HandlerFunc{
		"static": pages.Static(page),
		"write":  func(w http.ResponseWriter, _ *http.Request) { pages.Write(w, page) },
		"json":   func(w http.ResponseWriter, _ *http.Request) { pages.RawJSON(w, []byte(`{"a":1}`)) },
	} {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("GET", "/", nil))
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", name, k, got, want)
			}
		}
		if name == "json" {
			if rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != `{"a":1}` {
				t.Errorf("json: %q %q", rec.Header().Get("Content-Type"), rec.Body.String())
			}
			continue
		}
		if rec.Header().Get("Content-Security-Policy") != pages.Policy(page) || rec.Body.String() != string(page) {
			t.Errorf("%s: policy %q, body %q", name, rec.Header().Get("Content-Security-Policy"), rec.Body.String())
		}
	}
}
