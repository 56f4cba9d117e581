package browsertest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"statelab"
	"statelab/internal/browsertest"
	"statelab/internal/poll"
	"statelab/lb"
	"statelab/lb/api"
)

// TestBrowserStatusPage: the balancer's status page, driven by its own
// buttons: drain, enable, disable and a policy change reach the balancer
// and show on the page (whole rows in the state's colour, "2/3 up"); the
// sessions a memory instance holds appear beside it; a killed instance
// turns red; and when the balancer stops answering, the rows stay greyed
// under "no answer from the balancer since …", their buttons disabled.
// At 390 px the page does not scroll sideways.
func TestBrowserStatusPage(t *testing.T) {
	rt, client := startLab(t)
	ctx := context.Background()
	// The page reaches the balancer through a proxy the test can cut: once
	// cut, it drops every connection, the event stream's too, at once.
	admin, err := url.Parse(rt.Endpoints().Admin)
	if err != nil {
		t.Fatal(err)
	}
	var cut atomic.Bool
	cutCtx, cutAll := context.WithCancel(ctx)
	defer cutAll()
	rp := httputil.NewSingleHostReverseProxy(admin)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() {
			panic(http.ErrAbortHandler) // no answer: the connection just closes
		}
		// A cut also ends what is under way (the event stream) upstream.
		rctx, stop := context.WithCancel(r.Context())
		defer stop()
		defer context.AfterFunc(cutCtx, stop)()
		rp.ServeHTTP(w, r.WithContext(rctx))
	}))
	defer proxy.Close()

	// One memory user, so that one instance holds one session.
	page := rt.Endpoints().Pools[statelab.Memory]
	b := browsertest.New(t, 1400, 1000)
	if err := chromedp.Do(b, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#login")), chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	who := browsertest.WaitText(t, b, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
	holder := servedBy.FindStringSubmatch(who)[1]

	if err := chromedp.Do(b, chromedp.Navigate(proxy.URL+"/")); err != nil {
		t.Fatal(err)
	}
	row := func(name string) string {
		return `[...document.querySelectorAll("#pools tr")].find(r => r.querySelector("td.name")?.textContent === "` + name + `")`
	}
	cellOf := func(name, cls string) string {
		return row(name) + `?.querySelector("td.` + cls + `")?.textContent || ""`
	}
	waitEval := func(what, expr string, ok func(string) bool) string {
		t.Helper()
		var got string
		err := poll.Until(ctx, 15*time.Second, 50*time.Millisecond, func(context.Context) error {
			if got = eval[string](t, b, expr); !ok(got) {
				return errors.New("not yet")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: still %q", what, got)
		}
		return got
	}
	waitEval("the memory pool's count", `document.querySelector("#pools section .count")?.textContent || ""`, func(s string) bool { return s == "3/3 up" })
	sessions := `[...document.querySelectorAll("#pools section:first-child td.num[data-l='sessions held']")].map(td => td.textContent).join(",")`
	waitEval(holder+" holding the one session", `(`+cellOf(holder, `num[data-l='sessions held']`)+`) + "/" + (`+sessions+`)`,
		func(s string) bool { return strings.HasPrefix(s, "1/") && strings.Count(s, "0") == 2 })
	if got := eval[string](t, b, cellOf("redis-1", `num[data-l='sessions held']`)); got != "—" {
		t.Errorf("redis-1 shows %q sessions held: want —, it holds none itself", got)
	}

	click := func(backend, action string) {
		t.Helper()
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`button[aria-label="`+action+` `+backend+`"]`))); err != nil {
			t.Fatal(err)
		}
	}
	wantState := func(backend string, state api.State) {
		t.Helper()
		pool := strings.SplitN(backend, "-", 2)[0]
		if err := client.WaitState(ctx, pool, backend, state, 10*time.Second); err != nil {
			t.Fatalf("after the click: %v", err)
		}
		waitEval(backend+"'s row", row(backend)+`?.className || ""`, func(s string) bool { return s == string(state)+" "+state.Tone() })
	}
	click("memory-1", "drain")
	wantState("memory-1", api.Draining)
	browsertest.WaitText(t, b, "#said", func(s string) bool { return s == "drain memory-1: done." })
	click("memory-1", "enable")
	wantState("memory-1", api.Up)
	click("memory-3", "disable")
	wantState("memory-3", api.Disabled)
	waitEval("the count after a disable", `document.querySelector("#pools section .count").textContent`, func(s string) bool { return s == "2/3 up" })
	if cls := eval[string](t, b, `document.querySelector("#pools section .count").className`); cls != "count held" {
		t.Errorf("memory with one backend disabled on purpose: badge %q, want amber (count held), not red", cls)
	}

	if err := chromedp.Do(b, chromedp.SetValue(chromedp.CSS(`select[aria-label="policy of jwt"]`), "round-robin")); err != nil {
		t.Fatal(err)
	}
	err = poll.Until(ctx, 10*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		ps, err := client.Pool(ctx, "jwt")
		if err == nil && ps.Policy != api.RoundRobin {
			err = errors.New("policy " + string(ps.Policy))
		}
		return err
	})
	if err != nil {
		t.Fatalf("the policy select did not reach the balancer: %v", err)
	}

	if err := rt.Kill(ctx, "redis-2"); err != nil {
		t.Fatal(err)
	}
	wantState("redis-2", api.Down)
	if cls := eval[string](t, b, `document.querySelectorAll("#pools section .count")[1].className`); cls != "count short" {
		t.Errorf("redis with a backend down: badge %q, want red (count short)", cls)
	}
	bg := eval[string](t, b, `getComputedStyle(`+row("redis-2")+`.querySelector("td.name")).backgroundColor`)
	if bg != "rgb(198, 40, 40)" {
		t.Errorf("a down row's cells are %s: want the whole row red", bg)
	}
	browsertest.Shot(t, b, "status")

	// The balancer stops answering this page.
	cut.Store(true)
	cutAll()
	proxy.CloseClientConnections()
	stale := browsertest.WaitText(t, b, "#stale", func(s string) bool { return s != "" })
	if !strings.HasPrefix(stale, "No answer from the balancer since ") || !strings.Contains(stale, "the rows below are what it said then") {
		t.Errorf("stale banner: %q", stale)
	}
	if !eval[bool](t, b, `document.body.classList.contains("stale") && [...document.querySelectorAll("#pools button")].every(x => x.disabled)`) {
		t.Error("stale rows are not greyed, or their buttons still act")
	}
	browsertest.Shot(t, b, "status-stale")

	// A balancer with a token: the page asks for it, and what it shows
	// before is not "no answer".
	guarded, err := lb.New(lb.Config{}, lb.PoolSpec{Name: "jwt", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{{Name: "jwt-9", Addr: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := guarded.Admin(lb.AdminOptions{Token: "status-page-token-0123"})
	if err != nil {
		t.Fatal(err)
	}
	gts := httptest.NewServer(h)
	defer func() { gts.CloseClientConnections(); gts.Close() }() // before the browser, whose event stream it ends
	g := browsertest.New(t, 1000, 700)
	if err := chromedp.Do(g, chromedp.Navigate(gts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token"))); err != nil {
		t.Fatal(err)
	}
	if said := browsertest.WaitText(t, g, "#health", func(s string) bool { return s != "loading…" }); !strings.Contains(said, "wants its admin token") || eval[bool](t, g, `document.body.classList.contains("stale")`) {
		t.Errorf("before the token: %q, stale %v", said, eval[bool](t, g, `document.body.classList.contains("stale")`))
	}
	if err := chromedp.Do(g, chromedp.SendKeys(chromedp.CSS("#token"), "status-page-token-0123\n")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, g, "#pools", func(s string) bool { return strings.Contains(s, "jwt-9") })

	// A link from the lab (lab up, --hold) carries the token in its
	// fragment: the page takes it without asking, and the address bar
	// (on a projector) no longer shows it.
	f := browsertest.New(t, 1000, 700)
	if err := chromedp.Do(f, chromedp.Navigate(gts.URL+"/#token=status-page-token-0123")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, f, "#pools", func(s string) bool { return strings.Contains(s, "jwt-9") })
	if href := eval[string](t, f, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the address bar still shows the token: %s", href)
	}

	// A hostile or broken balancer: what it says is not taken for a status.
	for _, tc := range []struct{ body, want string }{
		{"<html>not json", "its status is not JSON"},
		{`{"pools":"x","health":{}}`, "its status lacks pools"},
	} {
		mux := http.NewServeMux()
		mux.Handle("GET /{$}", httputil.NewSingleHostReverseProxy(admin))
		mux.HandleFunc("/api/pools", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, tc.body) })
		bad := httptest.NewServer(mux)
		h := browsertest.New(t, 800, 600)
		if err := chromedp.Do(h, chromedp.Navigate(bad.URL+"/")); err != nil {
			t.Fatal(err)
		}
		if got := browsertest.WaitText(t, h, "#stale", func(s string) bool { return s != "" }); !strings.Contains(got, "No usable answer from the balancer") || !strings.Contains(got, tc.want) {
			t.Errorf("a balancer answering %q: %q", tc.body, got)
		}
		bad.CloseClientConnections()
		bad.Close()
	}

	narrow := browsertest.New(t, 390, 900)
	if err := chromedp.Do(narrow, chromedp.Navigate(rt.Endpoints().Admin+"/")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, narrow, "#pools", func(s string) bool { return strings.Contains(s, "redis-2") })
	fitsWidth(t, narrow, "the status page at 390 px")
	browsertest.Shot(t, narrow, "status-narrow")
}
