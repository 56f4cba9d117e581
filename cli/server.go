package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"statelab"

	"statelab/servers"
)

func runServer(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("server", "server --variant "+strings.Join(statelab.VariantNames(), "|")+" [flags]")
	variant := fs.String("variant", "", "where sessions live: "+strings.Join(statelab.VariantNames(), ", ")+" (required)")
	name := fs.String("name", "", "instance name shown in every response (default: the host name)")
	addr := fs.String("addr", ":8080", "listen address")
	redisAddr := fs.String("redis", "127.0.0.1:6379", "Redis address: sessions of the redis variant, the jwt denylist")
	redisTimeout := fs.Duration("redis-timeout", 250*time.Millisecond, "give up on Redis after this long (dial, read, write); a stopped Redis\nrefuses at once, a hanging one costs this")
	sentinels := fs.String("redis-sentinels", "", "Sentinel addresses, comma-separated: find the Redis primary through them and\nfollow a failover (--redis is then unused)")
	redisMaster := fs.String("redis-master", "statelab", "the name the Sentinels know the primary by")
	redisWait := fs.Duration("redis-wait", 0, "after each session write, WAIT until one replica has it, at most this long;\npast it, 503 (0: do not wait; at most 10s)")
	password := fs.String("password", "statelab", "the password every demo user has")
	cookieKeys := fs.String("cookie-keys", "", "keys that sign session cookies, comma-separated: the first signs, all verify\n(default: the built-in demo key, with a warning)")
	jwtKeys := fs.String("jwt-keys", "", "token keys as kid:secret, comma-separated (default: the built-in demo key, with a warning)")
	jwtActive := fs.String("jwt-active", "", "id of the key that signs new tokens (default: the first of --jwt-keys)")
	keysFile := fs.String("keys-file", "", "file of STATELAB_COOKIE_KEYS=, STATELAB_JWT_KEYS=, STATELAB_JWT_ACTIVE= lines that\noverride the keys; read at start and again on SIGHUP (rotate keys without a restart)")
	sessionTTL := fs.Duration("session-ttl", 30*time.Minute, "a session's lifetime after its last use (memory, redis, cookie); at least 1s")
	tokenTTL := fs.Duration("token-ttl", 15*time.Minute, "lifetime of a token")
	cookieName := fs.String("cookie-name", statelab.SessionCookie, "name of the session cookie (memory, redis, cookie); variants served on one host\nneed different names to share a browser, which sends a host's cookies to all its ports")
	secure := fs.Bool("secure-cookies", false, "mark cookies Secure (HTTPS only)")
	answerDelay := fs.Duration("answer-delay", 0, "wait this long before handling each request of a user (not /healthz or /stats):\na slow instance; at most 10s")
	failOpen := fs.Bool("fail-open", false, "when Redis errors, carry on without it (401 for redis sessions, tokens unchecked)\ninstead of answering 503")
	denylist := fs.Bool("jwt-denylist", false, "jwt: refuse tokens of logged-out logins, kept in Redis")
	lifetime := fs.Duration("session-lifetime", 12*time.Hour, "the longest a login lasts, however active its user: sessions and tokens are refused\nthis long after the login")
	maxSessions := fs.Int("max-sessions", 50000, "memory: the most sessions this instance holds; past it the least recently used is\nevicted (counted in /stats)")
	loginRate := fs.Float64("login-rate", 100, "logins a second one client may make after its burst; past it, 429 (negative: no limit)")
	loginBurst := fs.Int("login-burst", 1000, "logins one client may make at once")
	logger := logFlags(fs, env)
	log, err := parseLogged(fs, args, env, logger)
	if err != nil {
		return err
	}
	v, err := statelab.ParseVariant(*variant)
	if *variant == "" {
		err = fmt.Errorf("--variant is required (%s)", strings.Join(statelab.VariantNames(), ", "))
	}
	if err != nil {
		return UsageError{err}
	}
	ck, err := statelab.ParseCookieKeys(*cookieKeys)
	if err != nil {
		return UsageError{fmt.Errorf("--cookie-keys (%s): %w", EnvName("cookie-keys"), err)}
	}
	jk, err := statelab.ParseJWTKeys(*jwtKeys)
	if err != nil {
		return UsageError{fmt.Errorf("--jwt-keys (%s): %w", EnvName("jwt-keys"), err)}
	}
	srv, err := servers.New(servers.Config{
		Variant:       v,
		Name:          *name,
		Addr:          *addr,
		RedisAddr:     *redisAddr,
		RedisTimeout:  *redisTimeout,
		Sentinels:     splitList(*sentinels),
		RedisMaster:   *redisMaster,
		RedisWait:     *redisWait,
		Password:      *password,
		Keys:          statelab.Keys{Cookie: ck, JWT: jk, JWTActive: *jwtActive},
		KeysFile:      *keysFile,
		SessionTTL:    *sessionTTL,
		TokenTTL:      *tokenTTL,
		CookieName:    *cookieName,
		SecureCookies: *secure,
		FailOpen:      *failOpen,
		AnswerDelay:   *answerDelay,
		Denylist:      *denylist,
		Logger:        log,
		Crash:         dieNow,

		SessionLifetime: *lifetime,
		MaxSessions:     *maxSessions,
		LoginRate:       *loginRate,
		LoginBurst:      *loginBurst,
	})
	if err != nil {
		return UsageError{err}
	}
	if err := srv.Open(); err != nil {
		srv.Close()
		return StartupError{err}
	}
	defer armOnSignal(srv)()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }()
	go func() {
		for range hup {
			_ = srv.Reload() // logs what it did
		}
	}()
	return serveUntilDone(ctx, srv.Serve, srv.Shutdown, log.Info)
}

// serveUntilDone runs serve until it fails or ctx is done (SIGINT, SIGTERM),
// then shuts down gracefully within 5 seconds.
func serveUntilDone(ctx context.Context, serve func() error, shutdown func(context.Context) error, info func(string, ...any)) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return <-errc
}

// splitList splits a comma-separated flag into its non-empty parts.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
