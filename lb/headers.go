package lb

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// hopHeaders apply to one connection only and are not forwarded (RFC 9110,
// section 7.6.1), with Proxy-Authorization and Proxy-Authenticate, which
// belong to this hop too.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Transfer-Encoding", "Upgrade"}

// connectionListed returns the header names a Connection header lists as
// hop-by-hop ("Connection: close, X-Hop").
func connectionListed(v []byte) [][]byte {
	var out [][]byte
	for _, name := range bytes.Split(v, []byte{','}) {
		if name = bytes.TrimSpace(name); len(name) > 0 && !bytes.EqualFold(name, []byte("close")) && !bytes.EqualFold(name, []byte("keep-alive")) {
			out = append(out, name)
		}
	}
	return out
}

// prepareRequest turns the client's request headers, in place, into the
// backend's: hop-by-hop headers out, the client's own X-Forwarded-* and
// Forwarded replaced by this hop's, no Expect (the balancer has answered
// it). It returns whether the client asked to close its connection, which
// the caller puts back once the request is forwarded: the connection to
// the backend stays open whatever the client's does.
func prepareRequest(ctx *fasthttp.RequestCtx, keepUpgrade bool) (clientClose bool) {
	h := &ctx.Request.Header
	clientClose = h.ConnectionClose()
	for _, name := range connectionListed(h.Peek("Connection")) {
		if keepUpgrade && bytes.EqualFold(name, []byte("upgrade")) {
			continue
		}
		h.DelBytes(name)
	}
	for _, k := range hopHeaders {
		if keepUpgrade && (k == "Connection" || k == "Upgrade") {
			continue
		}
		h.Del(k)
	}
	h.ResetConnectionClose()
	if len(h.Host()) == 0 {
		// An HTTP/1.0 client may send no Host; HTTP/1.1 to the backend
		// needs one: the address the client reached.
		h.SetHost(ctx.LocalAddr().String())
	}
	h.Del("Expect")
	h.Del("Forwarded")
	h.Set("X-Forwarded-For", ctx.RemoteIP().String())
	h.SetBytesV("X-Forwarded-Host", h.Host())
	h.Set("X-Forwarded-Proto", "http")
	return clientClose
}

// prepareResponse removes, in place, the backend's hop-by-hop headers from
// its response; the client's connection is the balancer's to keep or close.
func prepareResponse(resp *fasthttp.Response) {
	h := &resp.Header
	for _, name := range connectionListed(h.Peek("Connection")) {
		h.DelBytes(name)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.ResetConnectionClose()
}
