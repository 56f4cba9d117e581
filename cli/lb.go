package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"statelab/lb/api"

	"statelab/lb"
)

// pools is the repeatable --pool flag; one value may also hold several pools
// separated by spaces or semicolons (that is how STATELAB_POOL holds them).
type pools []lb.PoolSpec

func (p *pools) String() string {
	var s []string
	for _, spec := range *p {
		s = append(s, spec.Name)
	}
	return strings.Join(s, " ")
}

func (p *pools) Set(v string) error {
	for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
		spec, err := lb.ParsePool(item)
		if err != nil {
			return err
		}
		*p = append(*p, spec)
	}
	return nil
}

func runLB(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("lb", "lb --pool NAME=LISTEN=BACKEND,BACKEND,... [--pool ...] [flags]")
	var specs pools
	fs.Var(&specs, "pool", "a pool: NAME=LISTEN=BACKEND,... where BACKEND is host:port or name@host:port;\nrepeat for more pools (in STATELAB_POOL, separate pools with spaces)")
	admin := fs.String("admin", "127.0.0.1:9000", "admin API and status page address (empty: none)")
	token := fs.String("admin-token", "", fmt.Sprintf("bearer token the admin API requires, at least %d bytes; required when --admin is not loopback", lb.MinTokenLen))
	adminHosts := fs.String("admin-hosts", "", "host names, comma-separated, the admin API answers to besides the loopback names\n(the name clients reach it by, e.g. lb in the workshop stack); any other Host is refused")
	maxConns := fs.Int("max-conns", 0, "client connections per pool; one more is answered 503 (default: the pool's share of\nthe open-file limit, two descriptors a connection, at most 10000)")
	maxPerAddr := fs.Int("max-per-address", 0, "client connections to a pool from one address (default: a quarter of --max-conns,\nat least 64)")
	maxUpgrades := fs.Int("max-upgrades", 1024, "upgraded connections (WebSockets) of the whole balancer, split across its pools;\none more is answered 503")
	maxUpPerAddr := fs.Int("max-upgrades-per-address", 0, "upgraded connections to a pool from one address (default: a quarter of the\npool's share, at least 16)")
	clientTimeout := fs.Duration("client-timeout", 30*time.Second, "time a client may take to take an answer, and an upgraded connection's writes")
	readTimeout := fs.Duration("read-timeout", 10*time.Second, "time a client may take to send a whole request (then 408), and an idle client\nconnection's lifetime")
	policy := fs.String("policy", string(api.RoundRobin), "every pool's policy at start: "+policyNames())
	strict := fs.Bool("strict", false, "sticky: answer 503 when a user's backend is gone, instead of re-pinning")
	interval := fs.Duration("health-interval", 250*time.Millisecond, "time between active health checks")
	hTimeout := fs.Duration("health-timeout", time.Second, "limit of one health check (a dead backend refuses at once; only a hung one\nwaits this long)")
	rise := fs.Int("rise", 2, "consecutive passing checks that bring a backend up")
	fall := fs.Int("fall", 2, "consecutive failing checks that take a backend down (a refused connection: at once)")
	healthPath := fs.String("health-path", "/healthz", "path of the health check")
	connect := fs.Duration("connect-timeout", 500*time.Millisecond, "limit of a dial to a backend")
	timeout := fs.Duration("timeout", 10*time.Second, "limit of the wait for a backend's response headers (then 504)")
	retries := fs.Int("retries", 2, "other backends a request that never reached one may be tried on")
	noIdem := fs.Bool("no-retry-idempotent", false, "do not retry GET/HEAD/OPTIONS that failed before any response")
	perPool := fs.Bool("cookie-per-pool", false, "name each pool's sticky cookie statelab_backend_POOL: browsers share cookies across\nthe ports of a host, so pools on one host must not share a cookie name")
	logger := logFlags(fs, env)
	log, err := parseLogged(fs, args, env, logger)
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		return UsageError{errors.New("no pool: give --pool NAME=LISTEN=BACKEND,... (e.g. --pool jwt=:8083=jwt-1:8080,jwt-2:8080)")}
	}
	if *admin != "" && !lb.IsLoopback(*admin) && *token == "" {
		return UsageError{fmt.Errorf("--admin %s is reachable from other hosts: set STATELAB_ADMIN_TOKEN (or --admin-token), or bind it to 127.0.0.1", *admin)}
	}
	if *token != "" && len(*token) < lb.MinTokenLen {
		return UsageError{fmt.Errorf("the admin token (STATELAB_ADMIN_TOKEN or --admin-token) is %d bytes: want at least %d", len(*token), lb.MinTokenLen)}
	}
	bl, err := lb.New(lb.Config{
		Policy: api.Policy(*policy), Strict: *strict,
		HealthPath: *healthPath, HealthInterval: *interval, HealthTimeout: *hTimeout, Rise: *rise, Fall: *fall,
		ConnectTimeout: *connect, Timeout: *timeout, Retries: *retries, NoRetryIdempotent: *noIdem,
		CookiePerPool: *perPool,
		MaxConns:      *maxConns, MaxPerAddress: *maxPerAddr, MaxUpgrades: *maxUpgrades, MaxUpgradesPerAddress: *maxUpPerAddr,
		ClientTimeout: *clientTimeout, ReadTimeout: *readTimeout,
		Logger: log,
	}, specs...)
	if err != nil {
		return UsageError{err}
	}
	var adminSrv *http.Server
	var adminLn net.Listener
	if *admin != "" {
		if adminLn, err = net.Listen("tcp", *admin); err != nil {
			return StartupError{fmt.Errorf("admin: %w", err)}
		}
		handler, err := bl.Admin(lb.AdminOptions{Token: *token, Hosts: strings.Split(*adminHosts, ",")})
		if err != nil {
			adminLn.Close()
			return UsageError{err}
		}
		adminSrv = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      60 * time.Second, // pprof's profile takes 30 s; event streams set their own
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    64 << 10,
		}
	}
	if err := bl.Open(); err != nil {
		if adminLn != nil {
			adminLn.Close()
		}
		return StartupError{err}
	}
	if adminSrv != nil {
		log.Info("admin API serving", "addr", adminLn.Addr().String(), "token", *token != "")
		go func() { _ = adminSrv.Serve(adminLn) }()
	}
	return serveUntilDone(ctx, bl.Serve, func(ctx context.Context) error {
		if adminSrv != nil {
			_ = adminSrv.Close() // event streams never end by themselves
		}
		return bl.Shutdown(ctx)
	}, log.Info)
}
