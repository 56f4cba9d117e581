package csp_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"statelab/internal/csp"
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
		p := csp.Policy([]byte(tc.page))
		if !strings.Contains(p, tc.want) || !strings.Contains(p, "frame-ancestors 'none'") {
			t.Errorf("Policy(%q) = %q, want %q and no framing", tc.page, p, tc.want)
		}
		if strings.Contains(p, "script-src 'unsafe-inline'") {
			t.Errorf("Policy(%q) allows any inline script: %q", tc.page, p)
		}
	}
}
