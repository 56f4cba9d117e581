package servers

import (
	_ "embed"
	"html/template"
	"net/http"

	"statelab"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// page serves the small HTML page a person uses in a browser.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_ = pageTemplate.Execute(w, map[string]any{
		"Variant":  string(s.cfg.Variant),
		"Instance": s.cfg.Name,
		"Token":    s.cfg.Variant == statelab.JWT,
	})
}
