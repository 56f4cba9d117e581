// Package servers is the statelab application: one HTTP API (log in, who am I,
// add to cart, read the cart, log out, health, stats, and a page for people)
// over four ways of keeping a login session, so that the same virtual users
// drive all four and only the variant differs.
//
// Every response names the instance that served it, in the
// X-Statelab-Instance header and in every JSON body, so that students see
// where each request went.
package servers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"statelab"
	"statelab/servers/store"
	"statelab/servers/store/memstore"
	"statelab/servers/store/redisstore"
)

// Server is one instance of one variant.
type Server struct {
	cfg      Config // as configured, before any keys file
	log      *slog.Logger
	sessions Sessions
	handler  http.Handler
	requests atomic.Int64
	logins   *loginLimiter // nil: no limit
	origins  *http.CrossOriginProtection
	live     *live
	applying sync.Map // user and Idempotency-Key of the changes being applied

	crashArmed atomic.Bool
	closeOnce  sync.Once
	closeErr   error

	keysMu  sync.Mutex
	keys    Config // cfg with the keys in force
	reloads atomic.Int64

	http *http.Server
	ln   net.Listener
}

// New builds an instance from cfg. It logs a warning for every default that
// must not leave a lab (the built-in demo keys). It does not listen yet; see
// Open.
func New(cfg Config) (*Server, error) {
	cfg, warnings, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keys: cfg, log: cfg.Logger.With("variant", string(cfg.Variant), "instance", cfg.Name)}
	if cfg.KeysFile != "" {
		if s.keys, err = cfg.readKeysFile(); err != nil {
			return nil, fmt.Errorf("keys file: %w", err)
		}
		if s.keys.KeysSummary() != cfg.KeysSummary() {
			warnings = nil // the file's keys replace the defaults warned about
		}
	}
	for _, w := range warnings {
		s.log.Warn(w)
	}
	if s.sessions, err = newSessions(s.keys); err != nil {
		return nil, err
	}
	s.logins = newLoginLimiter(cfg.LoginRate, cfg.LoginBurst, cfg.Now)
	s.origins = http.NewCrossOriginProtection()
	s.live = newLive(cfg.MaxLive, cfg.LiveEvery)
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

func newSessions(cfg Config) (Sessions, error) {
	switch cfg.Variant {
	case statelab.Memory:
		mem := memstore.NewBounded(time.Minute, cfg.MaxSessions)
		return &cookieSessions{
			name:     cfg.CookieName,
			store:    store.NewCookieStore(mem, cfg.SessionTTL, cfg.SecureCookies, cfg.Keys.Cookie...),
			ttl:      cfg.SessionTTL,
			lifetime: cfg.SessionLifetime,
			now:      cfg.Now,
			close:    mem.Close,
			started:  cfg.Now(),
		}, nil
	case statelab.Redis:
		rdb := cfg.redisClient()
		return &cookieSessions{
			name:     cfg.CookieName,
			store:    store.NewCookieStore(redisstore.New(rdb, "").WaitReplica(cfg.RedisWait), cfg.SessionTTL, cfg.SecureCookies, cfg.Keys.Cookie...),
			shared:   true,
			failOpen: cfg.FailOpen,
			ttl:      cfg.SessionTTL,
			lifetime: cfg.SessionLifetime,
			now:      cfg.Now,
			close:    rdb.Close,
			started:  cfg.Now(),
			resetAt:  func(ctx context.Context) (time.Time, bool) { return redisstore.ResetAt(ctx, rdb) },
		}, nil
	case statelab.Cookie:
		return newSignedSessions(cfg), nil
	case statelab.JWT:
		if !cfg.Denylist {
			return newTokenSessions(cfg, nil, func() error { return nil }), nil
		}
		rdb := cfg.redisClient()
		return newTokenSessions(cfg, redisstore.New(rdb, "statelab:revoked:").WaitReplica(cfg.RedisWait), rdb.Close), nil
	}
	return nil, fmt.Errorf("unknown variant %q", cfg.Variant)
}

// ArmCrash makes the instance die after the next cart change it applies,
// before answering it: the failure that makes a client's retry a second
// write (lab server: SIGUSR1).
func (s *Server) ArmCrash() {
	s.crashArmed.Store(true)
	s.log.Warn("crash armed: this instance dies after the next cart change it applies, before answering")
}

// CrashArmed reports whether a crash is armed.
func (s *Server) CrashArmed() bool { return s.crashArmed.Load() }

// crashIfArmed dies, if a crash is armed: the change is applied, the
// answer never leaves.
func (s *Server) crashIfArmed() {
	if !s.crashArmed.CompareAndSwap(true, false) {
		return
	}
	s.log.Warn("crashing after applying a cart change, before answering it")
	if s.cfg.Crash != nil {
		s.cfg.Crash()
	}
	_ = s.Kill()
	panic(http.ErrAbortHandler)
}

// Config returns the instance's configuration, defaults filled in, with the
// keys in force.
func (s *Server) Config() Config {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.keys
}

// Reload reads the keys file again and puts its keys in force (or, when the
// file is gone or empty, the configured keys). Sessions and tokens stay;
// whether they can still be read depends on the new keys. On error the keys
// in force stay.
func (s *Server) Reload() error {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	keys := s.cfg
	if s.cfg.KeysFile != "" {
		var err error
		if keys, err = s.cfg.readKeysFile(); err != nil {
			s.log.Error("keys not reloaded", "err", err)
			return err
		}
	}
	s.sessions.SetKeys(keys.Keys)
	s.keys = keys
	n := s.reloads.Add(1)
	s.log.Info("keys reloaded", "keys", keys.KeysSummary(), "reloads", n)
	return nil
}

// Handler returns the application's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Open listens on the configured address, so that an address in use is
// reported at once and ":0" picks a free port (see Addr).
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("%s: %w", s.cfg.Name, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address Open listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown. It returns nil after a shutdown.
func (s *Server) Serve() error {
	s.log.Info("serving", "addr", s.ln.Addr().String(), "redis", s.redisAddr(), "fail_open", s.cfg.FailOpen, "denylist", s.cfg.Denylist, "keys", s.Config().KeysSummary())
	if err := s.http.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) redisAddr() string {
	switch {
	case s.cfg.Variant != statelab.Redis && !s.cfg.Denylist:
		return "unused"
	case len(s.cfg.Sentinels) > 0:
		return fmt.Sprintf("the primary %q, as the Sentinels at %s say", s.cfg.RedisMaster, strings.Join(s.cfg.Sentinels, ", "))
	}
	return s.cfg.RedisAddr
}

// redisClient is the instance's Redis client: of RedisAddr, or of the
// primary the Sentinels know.
func (c Config) redisClient() *redis.Client {
	if len(c.Sentinels) > 0 {
		return redisstore.FailoverClient(c.RedisMaster, c.Sentinels, c.RedisTimeout)
	}
	return redisstore.Client(c.RedisAddr, c.RedisTimeout)
}

// Shutdown stops accepting requests, waits for those in flight until ctx is
// done, and releases the sessions (memory sessions die here).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.live.closeAll(true) // hijacked: Shutdown neither waits for them nor closes them
	if cerr := s.closeSessions(); err == nil {
		err = cerr
	}
	return err
}

// Kill stops serving at once, as SIGKILL would: the listener and every
// connection closed, requests in flight cut, the sessions released. For
// runtimes that run instances inside one process.
func (s *Server) Kill() error {
	err := s.http.Close()
	s.live.closeAll(false)
	if cerr := s.closeSessions(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the sessions without serving: for a Server used only
// through Handler.
func (s *Server) Close() error {
	s.live.closeAll(false)
	return s.closeSessions()
}

// closeSessions releases the sessions once, however often it is called (a
// crashed instance is killed again when it is restarted).
func (s *Server) closeSessions() error {
	s.closeOnce.Do(func() { s.closeErr = s.sessions.Close() })
	return s.closeErr
}

func (s *Server) stats(ctx context.Context) (statelab.Stats, error) {
	local, shared, err := s.sessions.Stats(ctx)
	if err != nil {
		return statelab.Stats{}, err
	}
	var held *statelab.Held
	if shared != nil {
		held = &statelab.Held{Sessions: shared.Sessions, Bytes: shared.Bytes, Evicted: shared.Evicted}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return statelab.Stats{
		Instance:  s.cfg.Name,
		Variant:   string(s.cfg.Variant),
		Sessions:  local.Sessions,
		Bytes:     local.Bytes,
		Evicted:   local.Evicted,
		Max:       local.Max,
		Requests:  s.requests.Load(),
		HeapBytes: ms.HeapAlloc,
		Store:     held,
	}, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "statelab"
	}
	return h
}
