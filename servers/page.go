package servers

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"

	"statelab/internal/pages"

	"statelab"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// page serves the small HTML page a person uses in a browser.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, map[string]any{
		"Variant": string(s.cfg.Variant),
		// The variant's colour tells its page apart at a glance.
		"Accent": template.CSS(s.cfg.Variant.Describe().Colour),
		// The balancer says when it moved this browser to this instance
		// (the request for the page itself carried the move).
		"Moved":    abbreviate(r.Header.Get(statelab.RepinnedHeader), 100),
		"Instance": s.cfg.Name,
		"Token":    s.cfg.Variant.Describe().Bearer,
	})
	if err != nil {
		http.Error(w, "the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The page carries this request's move (above): never a cached copy
	// (pages.Write says no-store). Its script is allowed by its hash (it
	// names this instance and the move, so the hash is this answer's).
	pages.Write(w, b.Bytes())
}

// abbreviate keeps at most n bytes of a header.
func abbreviate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
