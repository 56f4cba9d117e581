// Package lab is what a scenario acts on: a Runtime that starts, kills,
// stops, restarts and reconfigures the instances of a lab, and Redis, while
// virtual users talk to it through the balancer. Three runtimes implement
// it: lab/local (processes of this binary), lab/compose (the workshop
// stack's containers) and lab/inproc (everything inside one process, for
// tests).
package lab

import (
	"context"
	"net/url"

	"statelab"
)

// Runtime is where a lab runs. Scenarios only talk to a Runtime and to the
// balancer's admin API, so that the same scenario runs on any of them.
// These twelve methods are what every runtime must do; what only some can
// (reload keys, arm a crash, slow Redis down, count its bytes) are the
// capabilities in capabilities.go.
//
// The lab a Runtime runs has Redis, instances of each variant named
// VARIANT-1, VARIANT-2, ..., and a balancer with one pool per variant,
// named after the variant.
type Runtime interface {
	// Endpoints are the URLs of the pools and of the admin API, and what
	// the lab runs on.
	Endpoints() Endpoints
	// Instances lists a variant's base instances, in order.
	Instances(v statelab.Variant) []string

	// Kill ends an instance with SIGKILL: no goodbye, memory gone.
	Kill(ctx context.Context, name string) error
	// Stop ends an instance with SIGTERM: requests in flight finish.
	Stop(ctx context.Context, name string) error
	// Start starts a stopped or killed instance with its base
	// configuration changed by s, and waits until it answers. A restarted
	// instance is a new process: it remembers nothing.
	Start(ctx context.Context, name string, s Settings) error
	// InstanceURL is the base URL at which the runner reaches an instance
	// directly, bypassing the balancer (for /stats and /healthz).
	InstanceURL(name string) string
	// Add starts a new instance of a variant and returns the address the
	// balancer reaches it at; Remove ends it for good.
	Add(ctx context.Context, v statelab.Variant, name string, s Settings) (addr string, err error)
	Remove(ctx context.Context, name string) error

	// StopRedis stops Redis as `docker stop` does (SIGTERM).
	StopRedis(ctx context.Context) error
	// StartRedis starts Redis again; with persist, it keeps an append-only
	// file from then on, so that its data survive the next stop.
	StartRedis(ctx context.Context, persist bool) error

	// Reset brings the lab back to its clean state: every instance
	// restarted with its base configuration (or, where it holds nothing to
	// forget, left running), added instances removed, Redis running without
	// persistence and empty. The balancer's pools are the caller's.
	Reset(ctx context.Context) error
	// Close ends everything the runtime started.
	Close() error
}

// Tuner is a runtime whose instances' base configuration can change while
// it runs (the calibrated timing): Tune makes s the base of every instance
// started from then on, Reset included, and restarts at once the running
// instances whose configuration differs. A runtime that is not a Tuner
// keeps its own configuration.
type Tuner interface {
	Tune(ctx context.Context, s Settings) error
}

// Endpoints are the lab's URLs as the virtual users and the runner see them.
type Endpoints struct {
	// About says, in a line, what the lab runs on, and which Redis.
	About string
	// Pools maps each variant to its pool's base URL.
	Pools map[statelab.Variant]string
	// Admin is the balancer's admin API; AdminToken its bearer token.
	Admin      string
	AdminToken string
	// Redis is the host:port at which the runner reaches Redis itself, to
	// measure how fast it answers; "" when it cannot.
	Redis string
}

// StatusURL is the balancer's status page for a person to open: with the
// admin token, when there is one, in the URL's fragment, which the page
// keeps for its calls and the browser never sends anywhere.
func (e Endpoints) StatusURL() string {
	if e.AdminToken == "" {
		return e.Admin + "/"
	}
	return e.Admin + "/#token=" + url.QueryEscape(e.AdminToken)
}
