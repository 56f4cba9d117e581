package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"statelab/cli"
	"statelab/internal/browsertest"
	"statelab/internal/poll"
)

// TestBrowserUpRun: in Chromium, as a room uses lab up. A person is logged
// in on the redis pool's shop page and the live page is open; lab run
// kill-instance --up runs from another terminal. The live page shows that
// run to its end (its verdict, the run over, each -2 instance down, named
// as a run from another terminal), and the shop page's next look says the
// lab was reset, not that the store never held the session.
func TestBrowserUpRun(t *testing.T) {
	lu := startUp(t)
	shop := browsertest.New(t, 1000, 800)
	err := chromedp.Do(shop, chromedp.Navigate("http://127.0.0.1:"+lu.ports["redis"]), chromedp.WaitVisible(chromedp.CSS("#login")), chromedp.Click(chromedp.CSS("#login")))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, shop, "#who", func(s string) bool { return strings.HasPrefix(s, "Logged in as alice") })
	live := browsertest.New(t, 1280, 900)
	if err := chromedp.Do(live, chromedp.Navigate("http://127.0.0.1:"+lu.ports["live"])); err != nil {
		t.Fatal(err)
	}

	e, out, errb := env(map[string]string{"NO_COLOR": "1"})
	if code := cli.Main(context.Background(), []string{"run", "kill-instance", "--up", "--control", lu.sock, "--users", "12"}, e); code != 0 {
		t.Fatalf("lab run --up: exit %d\n%s\n%s", code, out.String(), errb.String())
	}

	badge := browsertest.WaitText(t, live, "#badge", func(s string) bool { return strings.HasPrefix(s, "run over") })
	fin := browsertest.WaitText(t, live, "#finished", func(s string) bool { return s != "" })
	runtime := browsertest.WaitText(t, live, "#runtime", func(string) bool { return true })
	if !strings.Contains(fin, "every expectation holds") || !strings.Contains(runtime, "lab run kill-instance, from another terminal") {
		t.Errorf("lab up's page after lab run --up: badge %q, runtime %q, finished:\n%s", badge, runtime, fin)
	}
	down, err := chromedp.Run(live, chromedp.Evaluate[string](`[...document.querySelectorAll(".variant .group.bad b")].map(b => b.textContent).join(",")`))
	if err != nil || down != "memory-2,redis-2,jwt-2,cookie-2" {
		t.Errorf("instances drawn down at the end: %q (%v), want the four -2", down, err)
	}
	browsertest.Shot(t, live, "live-up")

	if err := chromedp.Do(shop, chromedp.Click(chromedp.CSS("#me"))); err != nil {
		t.Fatal(err)
	}
	who := browsertest.WaitText(t, shop, "#who", func(s string) bool { return strings.Contains(s, "not logged in here") })
	if !strings.Contains(who, "The lab was last reset at ") {
		t.Errorf("after lab run --up reset the lab, the shop page says %q", who)
	}
	fmt.Fprintln(lu.typed, "q")
	if code := <-lu.done; code != 0 {
		t.Errorf("lab up: exit %d\n%s", code, lu.errb.String())
	}
}

// TestBrowserLiveLastPicture: a browser on the live page of lab run
// rolling-restart kill-instance --live (local processes, no --hold): once
// the run has ended and its page's server with it, the page shows the end
// of the run: the run over, kill-instance's verdict, each -2 instance
// down, and that the lab has stopped.
func TestBrowserLiveLastPicture(t *testing.T) {
	addr, done, out, errb := liveRun(t)
	err := poll.Until(context.Background(), 60*time.Second, 20*time.Millisecond, func(context.Context) error {
		r, err := http.Get("http://" + addr + "/state")
		if err != nil {
			return err
		}
		r.Body.Close()
		return nil
	})
	if err != nil {
		t.Fatalf("the live page never answered: %v\n%s", err, errb.String())
	}
	page := browsertest.New(t, 1280, 900)
	if err := chromedp.Do(page, chromedp.Navigate("http://"+addr)); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("lab run: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	// The server is gone: what the page shows is what it had drawn.
	stale := browsertest.WaitText(t, page, "#stale", func(s string) bool { return s != "" })
	badge, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#badge")))
	fin, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#finished")))
	down, _ := chromedp.Run(page, chromedp.Evaluate[string](`[...document.querySelectorAll(".variant .group.bad b")].map(b => b.textContent).join(",")`))
	if !strings.HasPrefix(badge, "run over") || !strings.HasPrefix(fin, "kill-instance: every expectation holds") || down != "memory-2,redis-2,jwt-2,cookie-2" || !strings.HasPrefix(stale, "The run is over and its lab has stopped") {
		t.Errorf("the page once the run ended: badge %q, down %q, stale %q, finished:\n%s", badge, down, stale, fin)
	}
}
