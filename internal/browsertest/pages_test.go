package browsertest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"statelab/lb/api"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"statelab"
	"statelab/internal/browsertest"
	"statelab/lab"
	"statelab/lab/inproc"
	"statelab/scenarios"
	"statelab/scenarios/catalog"
	"statelab/scenarios/report"
)

// startLab starts an in-process lab, every pool sticky as in the workshop
// stack.
func startLab(t *testing.T) (*inproc.Runtime, *api.Client) {
	t.Helper()
	ctx := context.Background()
	rt, err := inproc.Start(ctx, inproc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	ep := rt.Endpoints()
	client := &api.Client{Base: ep.Admin, Token: ep.AdminToken}
	for _, v := range statelab.Variants {
		if err := client.SetPolicy(ctx, string(v), api.Sticky, false); err != nil {
			t.Fatal(err)
		}
	}
	return rt, client
}

var servedBy = regexp.MustCompile(`answered by (\w+-\d+)`)

// fitsWidth fails the test when the page scrolls sideways.
func fitsWidth(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	scroll := eval[int](t, ctx, `document.documentElement.scrollWidth`)
	width := eval[int](t, ctx, `document.documentElement.clientWidth`)
	if scroll > width {
		t.Errorf("%s scrolls sideways: %d px of content in %d px", what, scroll, width)
	}
}

// TestBrowserKillAndReload: per variant, a person logs in and fills the
// cart, the instance that served them is killed, and a reload tells what
// happened: memory says the session is gone and why (the balancer moved
// the user to an instance that never saw it), the others keep user and
// cart; the request log survives the reload.
func TestBrowserKillAndReload(t *testing.T) {
	rt, client := startLab(t)
	for _, v := range statelab.Variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := browsertest.New(t, 1000, 900)
			url := rt.Endpoints().Pools[v]
			if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
				t.Fatal(err)
			}
			browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Not logged in") })
			if rows := eval[int](t, ctx, `document.querySelectorAll("#log tr").length`); rows != 0 {
				t.Fatalf("a fresh page logs %d requests: want none before a click", rows)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
				t.Fatal(err)
			}
			who := browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
			m := servedBy.FindStringSubmatch(who)
			if m == nil {
				t.Fatalf("the page does not say which instance answered: %q", who)
			}
			inst := m[1]
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#add"))); err != nil {
				t.Fatal(err)
			}
			browsertest.WaitText(t, ctx, "#cart", func(s string) bool { return s == "Cart: 1 × apple" })
			// The page's own /stats request ends before the kill.
			held := browsertest.WaitText(t, ctx, "#held", func(s string) bool { return s != "" })
			if v == statelab.Memory && !strings.HasPrefix(held, inst+" holds 1 session") {
				t.Errorf("memory holds: %q, want %s holding 1 session", held, inst)
			}
			browsertest.Shot(t, ctx, "shop-"+string(v))
			if err := rt.Kill(context.Background(), inst); err != nil {
				t.Fatal(err)
			}
			if err := client.WaitState(context.Background(), string(v), inst, api.Down, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if v == statelab.JWT || v == statelab.Cookie {
				// Here the move reaches a background request first (the
				// page's /stats), not the reloaded page: it must still
				// be explained.
				if got := eval[string](t, ctx, `held().then(() => sessionStorage.getItem(moveKey) || "")`, chromedp.EvalAwaitPromise); !strings.HasPrefix(got, inst+" -> ") {
					t.Fatalf("the /stats request after the kill kept %q, want the move from %s", got, inst)
				}
			}
			if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
				t.Fatal(err)
			}
			explain := browsertest.WaitText(t, ctx, "#explain", func(s string) bool { return s != "" })
			if !strings.Contains(explain, "moved you from "+inst) {
				t.Errorf("after the reload: %q, want the move from %s explained", explain, inst)
			}
			if v == statelab.Memory {
				who = browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.Contains(s, "not logged in") })
				if !strings.HasPrefix(who, "You were logged in as alice") || !strings.Contains(explain, "never seen your session") {
					t.Errorf("memory after the kill: %q / %q", who, explain)
				}
			} else {
				browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
				browsertest.WaitText(t, ctx, "#cart", func(s string) bool { return s == "Cart: 1 × apple" })
			}
			logText := browsertest.WaitText(t, ctx, "#log", func(s string) bool { return strings.Contains(s, "POST /cart") })
			if !strings.Contains(logText, inst) {
				t.Errorf("the log kept across the reload does not name %s: %q", inst, logText)
			}
			browsertest.Shot(t, ctx, "shop-"+string(v)+"-after-kill")
			// The instance comes back for the next variant's run.
			if err := rt.Start(context.Background(), inst, lab.Settings{}); err != nil {
				t.Fatal(err)
			}
			if v == statelab.Memory {
				memoryStaysTrue(t, ctx, rt, client)
			}
		})
	}
}

// memoryStaysTrue: on a page not reloaded, a request that finds the
// session gone clears the cart and the count of the dead instance's
// sessions: neither is true any more.
func memoryStaysTrue(t *testing.T, ctx context.Context, rt *inproc.Runtime, client *api.Client) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	who := browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
	inst := servedBy.FindStringSubmatch(who)[1]
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#add"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "#held", func(s string) bool { return strings.HasPrefix(s, inst+" holds 1 session") })
	if err := rt.Kill(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	if err := client.WaitState(context.Background(), "memory", inst, api.Down, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#me"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.Contains(s, "not logged in here") })
	browsertest.WaitText(t, ctx, "#held", func(s string) bool { return s != "" && !strings.HasPrefix(s, inst) })
	if cart := eval[string](t, ctx, `document.getElementById("cart").textContent`); cart != "" {
		t.Errorf("after the session was lost, the page still shows %q", cart)
	}
	if err := rt.Start(context.Background(), inst, lab.Settings{}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserKeyboardLogin: the login form works from the keyboard alone
// (Tab to the fields, Enter submits), its fields are labelled, and the
// status is announced (aria-live).
func TestBrowserKeyboardLogin(t *testing.T) {
	rt, _ := startLab(t)
	ctx := browsertest.New(t, 390, 800)
	err := chromedp.Do(ctx,
		chromedp.Navigate(rt.Endpoints().Pools[statelab.Redis]),
		chromedp.WaitVisible(chromedp.CSS("#user")))
	if err != nil {
		t.Fatal(err)
	}
	labelled := eval[int](t, ctx, `document.querySelectorAll("label input").length`)
	live := eval[int](t, ctx, `document.querySelectorAll("[aria-live]").length`)
	err = chromedp.Do(ctx,
		// From the top of the page: Tab reaches the user field first.
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent("\b\b\b\b\b\b"),
		chromedp.KeyEvent("bob"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Enter),
	)
	if err != nil {
		t.Fatal(err)
	}
	if labelled < 4 || live < 1 {
		t.Errorf("%d labelled inputs, %d aria-live regions", labelled, live)
	}
	browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as bob") })
	fitsWidth(t, ctx, "the redis shop page at 390 px")
	browsertest.Shot(t, ctx, "shop-redis-narrow")
}

// TestBrowserLive: the live page after kill-instance shows what the
// terminal shows: the verdict's numbers, every expectation, users under
// their instances, memory-2 marked down with its ten users lost.
func TestBrowserLive(t *testing.T) {
	rt, _ := startLab(t)
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	rn, err := scenarios.NewRunner(context.Background(), rt, scenarios.Options{Users: 30, Observers: []scenarios.Observer{live}})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	scs, _ := catalog.Find("kill-instance")
	j, err := rn.Run(context.Background(), scs)
	if err != nil || !j.OK {
		t.Fatalf("kill-instance: %v, ok %v", err, j != nil && j.OK)
	}
	live.End("the lab is held: press Enter in the terminal to stop it")
	ctx := browsertest.New(t, 1920, 1080)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatal(err)
	}
	fin := browsertest.WaitText(t, ctx, "#finished", func(s string) bool { return strings.Contains(s, "every expectation holds") })
	memory := j.Scenarios[0].Variants["memory"]
	for _, want := range []string{"memory ✓ " + strconv.Itoa(memory.Of(scenarios.Kept)) + " kept · ✗ " + strconv.Itoa(memory.Of(scenarios.Lost)) + " lost (must log in again)", "holds memory loses exactly the users", j.Scenarios[0].Lesson} {
		if !strings.Contains(fin, want) {
			t.Errorf("the finished panel lacks %q:\n%s", want, fin)
		}
	}
	if memory.Of(scenarios.Lost) != 10 || memory.Of(scenarios.Kept) != 20 {
		t.Errorf("memory: %v, want 20 kept and 10 lost", memory.Count)
	}
	// The run's last reading: memory-2 down.
	browsertest.WaitText(t, ctx, ".variant .group.bad b", func(s string) bool { return s == "memory-2" })
	groups := eval[int](t, ctx, `document.querySelectorAll(".variant:first-child .group").length`)
	dead := eval[string](t, ctx, `[...document.querySelectorAll(".variant:first-child .group.bad b")].map(b => b.textContent).join(",")`)
	lost := eval[int](t, ctx, `document.querySelectorAll(".variant:first-child .group.bad .u.bad").length`)
	if groups != 3 || dead != "memory-2" || lost != 10 {
		t.Errorf("memory: %d instance groups, down %q with %d users lost; want 3, memory-2, 10", groups, dead, lost)
	}
	badge := browsertest.WaitText(t, ctx, "#badge", func(s string) bool { return strings.HasPrefix(s, "run over") })
	if !strings.Contains(badge, "press Enter") {
		t.Errorf("badge %q", badge)
	}
	browsertest.Shot(t, ctx, "live")
	if err := chromedp.Do(ctx, chromedp.KeyEvent("p")); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, ctx, `document.body.classList.contains("projector")`) {
		t.Error("p does not turn on projector mode")
	}
	browsertest.Shot(t, ctx, "live-projector")
	// On a projector, the room sees all four variants without scrolling,
	// at 1920×1080 and at 1280×720.
	for _, size := range [][2]int{{1920, 1080}, {1280, 720}} {
		p := browsertest.New(t, size[0], size[1])
		if err := chromedp.Do(p, chromedp.Navigate(ts.URL+"/?projector=1")); err != nil {
			t.Fatal(err)
		}
		browsertest.WaitText(t, p, "#finished", func(s string) bool { return s != "" })
		n := eval[int](t, p, `document.querySelectorAll(".variant").length`)
		bottom := eval[float64](t, p, `Math.max(...[...document.querySelectorAll(".variant")].map(e => e.getBoundingClientRect().bottom))`)
		if n != 4 || bottom > float64(size[1]) {
			t.Errorf("projector at %d×%d: %d variants, the lowest ending at %.0f px: want 4, within %d", size[0], size[1], n, bottom, size[1])
		}
		browsertest.ShotViewport(t, p, fmt.Sprintf("live-projector-%d", size[1]))
	}
	narrow := browsertest.New(t, 390, 900)
	if err := chromedp.Do(narrow, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, narrow, "#finished", func(s string) bool { return s != "" })
	fitsWidth(t, narrow, "the live page at 390 px")
	browsertest.Shot(t, narrow, "live-narrow")

	// lab up's page, once another run reset the lab: no verdict that no
	// longer describes it, and why.
	live.ResetElsewhere("lab run rolling-restart", time.Now())
	browsertest.WaitText(t, ctx, "#badge", func(s string) bool { return s == "the lab was reset by another run" })
	if steps := browsertest.WaitText(t, ctx, "#steps", func(s string) bool { return s != "" }); !strings.Contains(steps, "lab run rolling-restart reset this lab at") {
		t.Errorf("after another run's reset the page says %q", steps)
	}
	if fin := eval[string](t, ctx, `document.getElementById("finished").textContent`); fin != "" {
		t.Errorf("after another run's reset the page still shows a verdict: %q", fin)
	}
	browsertest.ShotViewport(t, ctx, "live-reset-elsewhere")
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// TestBrowserLiveInconclusive: a scenario the machine was too busy to
// judge is drawn in amber, with its reason and each expectation marked
// inconclusive, never as a failure or a pass.
func TestBrowserLiveInconclusive(t *testing.T) {
	live := report.NewLive()
	ts := httptest.NewServer(live.Handler())
	defer ts.Close()
	busy := "inconclusive: this machine was too busy to judge it (redis: 8 requests timed out with no delay injected, e.g. \"503 session store unavailable: redis: i/o timeout (1.0 s)\"); close other programs (a browser tab, a video call) and run it again"
	sc := &scenarios.Scenario{Name: "sticky-imbalance", Setup: "sticky routing; instance 2 stopped and started again"}
	live.ScenarioStarted(sc, 1, 1, map[statelab.Variant][]string{})
	live.ScenarioFinished(sc, &scenarios.ScenarioReport{
		Name: "sticky-imbalance", Inconclusive: true, Busy: busy,
		Expectations: []scenarios.ExpectationResult{
			{Variant: "memory", Text: "keeps every user", Holds: true, Observed: "30 of 30 users kept"},
			{Variant: "redis", Text: "keeps every user", Inconclusive: true, Observed: "22 of 30 users kept"},
		},
	})
	live.End("")
	ctx := browsertest.New(t, 1280, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL)); err != nil {
		t.Fatal(err)
	}
	fin := browsertest.WaitText(t, ctx, "#finished", func(s string) bool { return strings.Contains(s, "too busy") })
	for _, want := range []string{busy, "inconclusive redis keeps every user: 22 of 30 users kept", "holds memory keeps every user"} {
		if !strings.Contains(fin, want) {
			t.Errorf("the finished panel lacks %q:\n%s", want, fin)
		}
	}
	if strings.Contains(fin, "FAILS") {
		t.Errorf("an inconclusive expectation shown as FAILS:\n%s", fin)
	}
	if got := eval[string](t, ctx, `document.getElementById("finished").className`); got != "busy" {
		t.Errorf("the finished panel's class %q, want busy (amber border)", got)
	}
	browsertest.Shot(t, ctx, "live-inconclusive")
}

// TestBrowserResetSaysSo: a person logged in on the redis pool while a
// scenario resets the lab is told, on the next look, that the lab was
// reset and when, not only that the store holds no such session.
func TestBrowserResetSaysSo(t *testing.T) {
	rt, client := startLab(t)
	ctx := browsertest.New(t, 1000, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(rt.Endpoints().Pools[statelab.Redis]), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
	reset := time.Now()
	if err := rt.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	// As the runner does after a reset: the instances are new processes,
	// up once the balancer has checked them.
	if err := client.WaitAllUp(context.Background(), reset, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#me"))); err != nil {
		t.Fatal(err)
	}
	who := browsertest.WaitText(t, ctx, "#who", func(s string) bool { return strings.Contains(s, "not logged in here") })
	if !strings.HasPrefix(who, "You were logged in as alice") || !strings.Contains(who, "The lab was last reset at ") || !strings.Contains(who, "which empties Redis") {
		t.Errorf("after the reset the page says %q", who)
	}
	browsertest.Shot(t, ctx, "shop-redis-after-reset")
}
