package lb

import (
	"bytes"
	"encoding/json"
	"html"

	"github.com/valyala/fasthttp"
)

// writeProblem answers with the balancer's own error: JSON, or a short HTML
// page when the client asked for HTML (a browser), so that a person sees a
// sentence and not a data structure. fields are added to the JSON.
func writeProblem(ctx *fasthttp.RequestCtx, code int, msg string, fields map[string]string) {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetStatusCode(code)
	if bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("text/html")) {
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		ctx.SetBodyString(`<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
			`<title>` + html.EscapeString(fasthttp.StatusMessage(code)) + `</title>` +
			`<body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem">` +
			`<h1 style="font-size:1.3rem">` + html.EscapeString(fasthttp.StatusMessage(code)) + ` (from the statelab balancer)</h1>` +
			`<p>` + html.EscapeString(msg) + `</p><p><a href="/">Try again</a></p></body></html>`)
		return
	}
	body := map[string]string{"error": msg}
	for k, v := range fields {
		body[k] = v
	}
	data, _ := json.Marshal(body)
	ctx.SetContentType("application/json")
	ctx.SetBody(append(data, '\n'))
}
