// Package csp writes the Content-Security-Policy of the lab's pages: each
// page's own inline script allowed by its hash and no other script, inline
// styles, requests to the page's own origin only, and no framing by any
// page (a page on another port of the same host is the same site, and
// could otherwise lay a shop page under a decoy button).
package csp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
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
