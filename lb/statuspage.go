package lb

import (
	_ "embed"
	"net/http"

	"statelab/internal/csp"
)

//go:embed status.html
var statusHTML []byte

// statusPolicy allows the page's own script only, and no framing.
var statusPolicy = csp.Policy(statusHTML)

// statusPage serves the page that shows every pool and backend, refreshed
// every second, with buttons for the admin API's changes. Its script is
// its own (inline); it loads nothing from elsewhere.
func (bl *Balancer) statusPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", statusPolicy)
	_, _ = w.Write(statusHTML)
}
