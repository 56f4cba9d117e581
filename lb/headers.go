package lb

import (
	"net"
	"net/http"
	"strings"
)

// hopHeaders apply to one connection only and are not forwarded (RFC 9110,
// section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// prepareHeaders turns the client's request headers, in place, into the
// backend's: hop-by-hop headers out, X-Forwarded-* from this hop only (a
// client's own X-Forwarded-For is not to be trusted), no Expect (the server
// has answered it already) and no default Go User-Agent added.
func prepareHeaders(r *http.Request) {
	h := r.Header
	removeHopHeaders(h)
	delete(h, "Expect")
	delete(h, "Forwarded")
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h["X-Forwarded-For"] = []string{ip}
	} else {
		delete(h, "X-Forwarded-For")
	}
	h["X-Forwarded-Host"] = []string{r.Host}
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = []string{"https"}
	} else {
		h["X-Forwarded-Proto"] = []string{"http"}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
}
