// Package csp writes the Content-Security-Policy of the lab's pages: each
// page's own inline script allowed by its hash and no other script, inline
// styles, requests to the page's own origin only, and no framing by any
// page (a page on another port of the same host is the same site, and
// could otherwise lay a shop page under a decoy button).
package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// Policy is the policy for page: its <script> elements (without
// attributes) are allowed by their SHA-256 hashes.
func Policy(page []byte) string {
	var hashes []string
	rest := page
	for {
		i := bytes.Index(rest, []byte("<script>"))
		if i < 0 {
			break
		}
		rest = rest[i+len("<script>"):]
		j := bytes.Index(rest, []byte("</script>"))
		if j < 0 {
			break
		}
		sum := sha256.Sum256(rest[:j])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		rest = rest[j:]
	}
	script := "'none'"
	if len(hashes) > 0 {
		script = strings.Join(hashes, " ")
	}
	return "default-src 'self'; script-src " + script + "; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// headers sets what every answer of a page's server carries.
func headers(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// Write serves page, with its policy computed from it (a page made per
// request: its script may name this request's data).
func Write(w http.ResponseWriter, page []byte) {
	WriteWith(w, page, Policy(page))
}

// WriteWith serves page under policy, its Policy computed beforehand.
func WriteWith(w http.ResponseWriter, page []byte, policy string) {
	headers(w, "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", policy)
	_, _ = w.Write(page)
}

// Static serves a page that never changes (an embedded file): its policy
// is computed once.
func Static(page []byte) http.HandlerFunc {
	policy := Policy(page)
	return func(w http.ResponseWriter, _ *http.Request) { WriteWith(w, page, policy) }
}

// RawJSON serves body, already JSON, as a page's state.
func RawJSON(w http.ResponseWriter, body []byte) {
	headers(w, "application/json")
	_, _ = w.Write(body)
}
