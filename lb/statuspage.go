package lb

import (
	_ "embed"
	"net/http"

	"statelab/internal/pages"
)

//go:embed status.html
var statusHTML []byte

// statusPage serves the page that shows every pool and backend, refreshed
// every second, with buttons for the admin API's changes. Its script is
// its own (inline); it loads nothing from elsewhere.
var statusPage http.HandlerFunc = pages.Static(statusHTML)
