package browsertest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"statelab/internal/browsertest"
	"statelab/internal/containertest"
	"statelab/internal/ports"
	"statelab/internal/redistest"
)

// TestBrowserComposeLastPicture: the workshop stack in Docker Compose, a
// browser on the live page of `docker compose run --service-ports lab run
// rolling-restart kill-instance --live 0.0.0.0:8090` (no --hold): when the
// run's container has ended, the page shows the end of the run, not a
// step in its middle: the run over, kill-instance's verdict, each -2
// instance down. It brings up a stack of its own (its own project name
// and host ports) and takes it down, also when it fails.
func TestBrowserComposeLastPicture(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: a whole compose stack")
	}
	containertest.Image(t, containertest.LabImageVar, containertest.LabImage)
	containertest.Image(t, containertest.RedisImageVar, containertest.RedisImage)
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		redistest.Absent(t, "no Docker Compose v2 (scripts/images.sh builds one)")
	}
	var alloc ports.Allocator
	env := append(os.Environ(), "COMPOSE_PROJECT_NAME=statelab-live-"+strings.ToLower(rand.Text()[:8]))
	port := map[string]int{}
	for _, name := range []string{"MEMORY", "REDIS", "JWT", "COOKIE", "ADMIN", "LIVE"} {
		p, err := alloc.Free()
		if err != nil {
			t.Fatal(err)
		}
		port[name] = p
		env = append(env, "STATELAB_"+name+"_PORT="+strconv.Itoa(p))
	}
	compose := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, "docker", append([]string{"compose", "--project-directory", "../..", "-f", "../../compose.yaml"}, args...)...)
		c.Env = env
		return c
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := compose(ctx, "--profile", "lab", "down", "--volumes", "--remove-orphans", "--timeout", "2").CombinedOutput(); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := compose(ctx, "up", "-d", "--wait").CombinedOutput(); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	run := compose(ctx, "run", "--rm", "-T", "--service-ports", "lab", "run", "rolling-restart", "kill-instance", "--users", "10", "--live", "0.0.0.0:8090")
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- run.Wait() }()
	// The page, opened as soon as it answers (the run has begun).
	url := fmt.Sprintf("http://127.0.0.1:%d", port["LIVE"])
	for opened := false; !opened; {
		select {
		case err := <-ended:
			t.Fatalf("the run ended before its live page answered: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
			if r, err := http.Get(url + "/state"); err == nil {
				r.Body.Close()
				opened = r.StatusCode == 200
			}
		}
	}
	page := browsertest.New(t, 1280, 900)
	if err := chromedp.Do(page, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; err != nil {
		t.Fatalf("the run in compose: %v\n%s", err, out.String())
	}
	if _, err := http.Get(url + "/state"); err == nil {
		t.Error("the live page still answers after its run's container ended")
	}
	// What the page shows now is what it got before its server stopped.
	badge, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#badge")))
	fin, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#finished")))
	scenario, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("#scenario")))
	down, _ := chromedp.Run(page, chromedp.Evaluate[string](`[...document.querySelectorAll(".variant .group.bad b")].map(b => b.textContent).join(",")`))
	if !strings.HasPrefix(badge, "run over") || !strings.HasPrefix(scenario, "kill-instance") || !strings.Contains(fin, "every expectation holds") || down != "memory-2,redis-2,jwt-2,cookie-2" {
		t.Errorf("the page once the run ended: badge %q, scenario %q, down %q, finished:\n%s\nthe run:\n%s", badge, scenario, down, fin, out.String())
	}
	browsertest.Shot(t, page, "live-compose-end")
}
