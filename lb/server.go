package lb

import (
	"errors"
	"fmt"
	"os"

	"github.com/valyala/fasthttp"
)

// server is the pool's HTTP server for clients, with its limits: headers,
// bodies, connections and time are all bounded, and what fasthttp refuses
// before the pool sees it is answered in the balancer's words.
func (p *Pool) server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       p.serve,
		Name:                          "statelab-lb",
		ReadBufferSize:                maxRequestHeader,
		MaxRequestBodySize:            maxRequestBody,
		Concurrency:                   p.cfg.MaxConns + 1, // the listener bounds them (guard.go)
		ReadTimeout:                   p.cfg.ReadTimeout,
		WriteTimeout:                  p.cfg.ClientTimeout,
		IdleTimeout:                   p.cfg.ReadTimeout,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		SecureErrorLogMessage:         true, // never echo what a client sent in an error
		ErrorHandler:                  p.clientError,
		Logger:                        quietLogger{},
	}
}

// clientError answers a request fasthttp could not take: malformed framing,
// too large a header or body, too slow a client. It is the client's fault;
// no backend is involved or blamed.
func (p *Pool) clientError(ctx *fasthttp.RequestCtx, err error) {
	p.clientErrors.Add(1)
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		writeProblem(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("pool %s: request header over %d bytes", p.Name, maxRequestHeader), nil)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeProblem(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("pool %s: request body over %d bytes", p.Name, maxRequestBody), nil)
	case isTimeout(err) || errors.Is(err, os.ErrDeadlineExceeded):
		writeProblem(ctx, fasthttp.StatusRequestTimeout, fmt.Sprintf("pool %s: the request did not arrive in time", p.Name), nil)
	default:
		writeProblem(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("pool %s: malformed request: %s", p.Name, shortError(err)), nil)
	}
}

// quietLogger drops fasthttp's own log lines (a client that goes away is
// not news); the pool counts client errors in its metrics.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
