package lb

import (
	_ "embed"
	"net/http"
)

//go:embed status.html
var statusHTML []byte

// statusPage serves the page that shows every pool and backend, refreshed
// every second, with buttons for the admin API's changes. Its script is
// its own (inline); it loads nothing from elsewhere.
func (bl *Balancer) statusPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	_, _ = w.Write(statusHTML)
}
