package scenarios

import (
	"context"

	"statelab/servers"
)

// Runtime is where a lab runs: local processes, or the containers of the
// compose stack. Scenarios only talk to a Runtime and to the balancer's admin
// API, so that the same scenario runs on either.
//
// The lab a Runtime runs has Redis, three instances of each variant named
// VARIANT-1 to VARIANT-3, and a balancer with one pool per variant, named
// after the variant.
type Runtime interface {
	// Describe says, in a line, what the lab runs on, and which Redis.
	Describe() string
	// Endpoints are the URLs of the pools and of the admin API.
	Endpoints() Endpoints
	// Instances lists a variant's instances, in order.
	Instances(v servers.Variant) []string

	// Kill ends an instance with SIGKILL: no goodbye, memory gone.
	Kill(ctx context.Context, name string) error
	// Stop ends an instance with SIGTERM: requests in flight finish.
	Stop(ctx context.Context, name string) error
	// Start starts a stopped or killed instance with its base configuration
	// plus env (STATELAB_ variables, e.g. keys), and waits until it answers.
	// A restarted instance is a new process: it remembers nothing.
	Start(ctx context.Context, name string, env map[string]string) error
	// SetKeys makes an instance put keys in force without a restart: the
	// STATELAB_COOKIE_KEYS, STATELAB_JWT_KEYS and STATELAB_JWT_ACTIVE
	// settings given, read from its keys file on SIGHUP. Empty keys bring
	// back the instance's configured keys. It returns once the instance
	// has reloaded.
	SetKeys(ctx context.Context, name string, keys map[string]string) error
	// InstanceURL is the base URL at which the runner reaches an instance
	// directly, bypassing the balancer (for /stats).
	InstanceURL(name string) string
	// Add starts a new instance of a variant and returns the address the
	// balancer reaches it at; Remove ends it for good.
	Add(ctx context.Context, v servers.Variant, name string, env map[string]string) (addr string, err error)
	Remove(ctx context.Context, name string) error

	// StopRedis stops Redis as `docker stop` does (SIGTERM).
	StopRedis(ctx context.Context) error
	// StartRedis starts Redis again; with persist, it keeps an append-only
	// file from then on, so that its data survive the next stop.
	StartRedis(ctx context.Context, persist bool) error
	// RedisStats counts Redis's keys and the bytes their values take.
	RedisStats(ctx context.Context) (keys, bytes int64, err error)

	// Reset brings the lab back to its clean state: every instance
	// restarted with its base configuration, added instances removed, Redis
	// running without persistence and empty.
	Reset(ctx context.Context) error
	// Close ends everything the runtime started.
	Close() error
}

// Endpoints are the lab's URLs as the virtual users and the runner see them.
type Endpoints struct {
	// Pools maps each variant to its pool's base URL.
	Pools map[servers.Variant]string
	// Admin is the balancer's admin API; AdminToken its bearer token.
	Admin      string
	AdminToken string
}
