package servers

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"statelab"
)

// statusError is an error with the HTTP status it becomes.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// status maps an error to its HTTP status, in one place.
func status(err error) int {
	var (
		se  *statusError
		big *errCookieTooLarge
	)
	switch {
	case errors.As(err, &se):
		return se.status
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNoSession):
		return http.StatusUnauthorized
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", s.methods(byMethod{"GET": s.page}))
	mux.Handle("/login", s.methods(byMethod{"POST": s.writes(s.login)}))
	mux.Handle("/me", s.methods(byMethod{"GET": s.me}))
	mux.Handle("/cart", s.methods(byMethod{"GET": s.cart, "POST": s.writes(s.addToCart)}))
	mux.Handle("/logout", s.methods(byMethod{"POST": s.writes(s.logout)}))
	mux.Handle("/live", s.methods(byMethod{"GET": s.serveLive}))
	mux.Handle("/healthz", s.methods(byMethod{"GET": s.healthz}))
	mux.Handle("/stats", s.methods(byMethod{"GET": s.serveStats}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &statusError{http.StatusNotFound, "no such endpoint (the API: POST /login, GET /me, GET and POST /cart, POST /logout, GET /live, GET /healthz, GET /stats)"})
	})
	return s.middleware(s.slow(mux))
}

// MaxRedisWait bounds Config.RedisWait.
const MaxRedisWait = 10 * time.Second

// maxSentinels bounds Config.Sentinels.
const maxSentinels = 16

// MaxAnswerDelay bounds Config.AnswerDelay.
const MaxAnswerDelay = 10 * time.Second

// slow makes every request of a user wait Config.AnswerDelay first (the
// balancer's health checks and /stats answer at once: the instance is
// slow, not dead); a request whose client goes away meanwhile ends.
func (s *Server) slow(h http.Handler) http.Handler {
	d := s.cfg.AnswerDelay
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.URL.Path != "/stats" {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// byMethod maps request methods to handlers.
type byMethod map[string]http.HandlerFunc

// writes guards a request that changes a session: it must come from a page
// of this very origin (a form on another port of the same host is another
// origin, though the same site for cookies), and carry a JSON body, which
// a page elsewhere cannot send without a preflight this server never
// answers.
func (s *Server) writes(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.origins.Check(r); err != nil {
			s.fail(w, r, &statusError{http.StatusForbidden, "a request from another origin's page is refused: log in, add to the cart and log out from this page only"})
			return
		}
		ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || ct != "application/json" {
			s.fail(w, r, &statusError{http.StatusUnsupportedMediaType, "want Content-Type: application/json"})
			return
		}
		h(w, r)
	}
}

// middleware names the instance on every response, counts requests, turns a
// panic into a logged 500 and logs each request at debug level.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(statelab.InstanceHeader, s.cfg.Name)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path != "/healthz" && r.URL.Path != "/stats" {
			s.requests.Add(1)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.reply(w, http.StatusInternalServerError, statelab.Body{Error: "internal error"})
			}
		}()
		if !s.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "took", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Hijack lets a WebSocket upgrade through the recorder.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) reply(w http.ResponseWriter, code int, b statelab.Body) {
	b.Instance, b.Variant = s.cfg.Name, string(s.cfg.Variant)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(b)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	switch code {
	case http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		s.log.Warn("session store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.reply(w, code, statelab.Body{Error: err.Error()})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.logins.allow(clientOf(r)); !ok {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		s.fail(w, r, &statusError{http.StatusTooManyRequests, fmt.Sprintf("too many logins from this client: at most %s a second after a burst of %d; try again in %s",
			strconv.FormatFloat(s.cfg.LoginRate, 'f', -1, 64), s.cfg.LoginBurst, wait.Round(time.Millisecond))})
		return
	}
	var req statelab.Login
	if err := decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := validName("user", req.User); err != nil {
		s.fail(w, r, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(req.Password), []byte(s.cfg.Password)) != 1 {
		s.fail(w, r, fmt.Errorf("%w: wrong user or password", ErrNoSession))
		return
	}
	st := State{User: req.User, Cart: []statelab.Item{}, Since: s.cfg.Now().Unix()}
	token, err := s.sessions.Start(w, r, st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, statelab.Body{User: st.User, Cart: st.Cart, Token: token})
}

// current is the request's session, renewed if it lives from its last use
// and half of its life has passed.
func (s *Server) current(w http.ResponseWriter, r *http.Request) (State, error) {
	st, err := s.sessions.Current(r)
	if err != nil {
		return st, err
	}
	if sl, ok := s.sessions.(slider); ok {
		if err := sl.Slide(w, r, st); err != nil {
			// The read was served; only the renewal failed, and the next
			// read tries again.
			s.log.Warn("session not renewed", "path", r.URL.Path, "err", err)
		}
	}
	return st, nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	st, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, statelab.Body{User: st.User, Cart: nonNil(st.Cart)})
}

func (s *Server) cart(w http.ResponseWriter, r *http.Request) {
	st, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, http.StatusOK, statelab.Body{Cart: nonNil(st.Cart)})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	revoked, err := s.sessions.End(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b := statelab.Body{Revoked: &revoked}
	switch d := s.cfg.Variant.Describe(); {
	case d.ServerHolds():
		b.Note = "the session record is deleted: the old cookie now finds nothing"
	case d.Bearer && !revoked:
		b.Note = "logged out on the client only: this server keeps nothing, so the token stays valid until it expires"
	case d.Bearer:
		b.Note = "the token's login is on the denylist in Redis until its last token expires"
	default:
		b.Note = "the cookie is deleted from this client only: no server holds the session, so a copy of the cookie stays valid until it expires, and renews itself while it is used"
	}
	s.reply(w, http.StatusOK, b)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	b := statelab.Body{Status: "ok", Keys: s.Config().KeysSummary(), SigningKey: s.Config().SigningKey(), Reloads: s.reloads.Load(), CrashArmed: s.CrashArmed()}
	if s.redisAddr() != "unused" {
		b.RedisTimeout = s.cfg.RedisTimeout.String()
	}
	// Only memory counts what it holds here: the others' count lives in
	// Redis or nowhere, and a health check must not add Redis traffic.
	if !s.cfg.Variant.Describe().Shared() {
		if local, _, err := s.sessions.Stats(r.Context()); err == nil {
			b.Sessions = &local.Sessions
		}
	}
	s.reply(w, http.StatusOK, b)
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.stats(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

func nonNil(c []statelab.Item) []statelab.Item {
	if c == nil {
		return []statelab.Item{}
	}
	return c
}

// decode reads one JSON object of at most statelab.MaxBody bytes into v, refusing
// unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, statelab.MaxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
	case errors.As(err, &tooBig):
		return &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("empty body: want a JSON object")
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return badRequest("field %q: want a JSON %s, got %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return badRequest("the JSON object has a field this endpoint does not take")
	default:
		return badRequest("malformed JSON: want one JSON object")
	}
	if dec.More() {
		return badRequest("trailing data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		var tb *http.MaxBytesError
		if errors.As(err, &tb) {
			return &statusError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tb.Limit)}
		}
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// validName checks a user name: 1 to statelab.MaxNameLen printable runes.
func validName(field, v string) error {
	n, err := printable(field, v)
	if err != nil {
		return err
	}
	if n > statelab.MaxNameLen {
		return badRequest("%s is longer than %d characters", field, statelab.MaxNameLen)
	}
	return nil
}

// validItem checks an item's name: 1 to statelab.MaxItemLen printable
// runes; a longer one is a 413, a size limit.
func validItem(v string) error {
	n, err := printable("item", v)
	if err != nil {
		return err
	}
	if n > statelab.MaxItemLen {
		return tooLarge("item is longer than %d characters", statelab.MaxItemLen)
	}
	return nil
}

// printable counts the runes of a required field that must be printable.
func printable(field, v string) (int, error) {
	if v == "" {
		return 0, badRequest("%s is required", field)
	}
	n := 0
	for _, r := range v {
		n++
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return 0, badRequest("%s contains a character that is not printable", field)
		}
	}
	return n, nil
}

// methods routes by method (HEAD as GET) and answers other methods with a
// JSON 405 that lists the allowed ones.
func (s *Server) methods(m byMethod) http.Handler {
	allowed := make([]string, 0, len(m))
	for k := range m {
		allowed = append(allowed, k)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := m[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = m[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			s.fail(w, r, &statusError{http.StatusMethodNotAllowed, fmt.Sprintf("method not allowed here (allowed: %s)", allow)})
			return
		}
		h(w, r)
	})
}
