package lb

import (
	"bytes"
	"net/netip"

	"statelab"

	"github.com/valyala/fasthttp"
)

// hopHeaders apply to one connection only and are not forwarded (RFC 9110,
// section 7.6.1), with Proxy-Authorization and Proxy-Authenticate, which
// belong to this hop too.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Transfer-Encoding", "Upgrade"}

// connectionListed calls f for each header name a Connection header lists
// as hop-by-hop ("Connection: close, X-Hop"), other than close and
// keep-alive, without allocating.
func connectionListed(v []byte, f func(name []byte)) {
	for len(v) > 0 {
		var name []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			name, v = v[:i], v[i+1:]
		} else {
			name, v = v, nil
		}
		if name = bytes.TrimSpace(name); len(name) > 0 && !bytes.EqualFold(name, []byte("close")) && !bytes.EqualFold(name, []byte("keep-alive")) {
			f(name)
		}
	}
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
	if conn := h.Peek("Connection"); len(conn) > 0 {
		// Copied: deleting headers moves the bytes Peek points into.
		var names [][]byte
		connectionListed(append([]byte(nil), conn...), func(name []byte) {
			if !keepUpgrade || !bytes.EqualFold(name, []byte("upgrade")) {
				names = append(names, name)
			}
		})
		for _, name := range names {
			h.DelBytes(name)
		}
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
	h.Del(statelab.RepinnedHeader) // only the balancer says who it moved
	var ip [64]byte
	if addr, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		h.SetBytesV("X-Forwarded-For", addr.Unmap().AppendTo(ip[:0]))
	}
	h.SetBytesV("X-Forwarded-Host", h.Host())
	h.Set("X-Forwarded-Proto", "http")
	return clientClose
}

// prepareResponse removes, in place, the backend's hop-by-hop headers from
// its response; the client's connection is the balancer's to keep or close.
func prepareResponse(resp *fasthttp.Response) {
	h := &resp.Header
	if conn := h.Peek("Connection"); len(conn) > 0 {
		var names [][]byte
		connectionListed(append([]byte(nil), conn...), func(name []byte) { names = append(names, name) })
		for _, name := range names {
			h.DelBytes(name)
		}
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.ResetConnectionClose()
}
