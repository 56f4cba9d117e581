// Package browsertest drives the lab's pages in a real browser, headless
// Chromium through chromedp, for the browser tests (go test -run Browser).
// Without Chromium a test skips, except under CI=true, where it fails. With
// STATELAB_SCREENSHOTS=DIR set, Shot writes PNG files there (the README's
// screenshots: scripts/screenshots.sh).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browsers are the names Chromium goes by on PATH.
var Browsers = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// Find returns the path of a Chromium, or "".
func Find() string {
	if p := os.Getenv("STATELAB_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range Browsers {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a window of width × height CSS
// pixels and returns a context for chromedp actions in one tab; both end
// with the test. Each call is a new browser: nothing (cookies, storage)
// is shared.
func New(t *testing.T, width, height int) context.Context {
	t.Helper()
	exe := Find()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium on PATH (apt-get install chromium): under CI the browser tests must run")
		}
		t.Skip("no Chromium on PATH (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(width, height),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// One limit for the whole test: a page that never settles fails, it
	// does not hang.
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	// The viewport is set, not only the window: a headless window is at
	// least 500 px wide, and the pages must be seen at a phone's 390.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// Shot saves a screenshot of the whole page as NAME.png in
// $STATELAB_SCREENSHOTS, when it is set.
func Shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shoot(t, ctx, name, chromedp.FullScreenshot(100))
}

// shoot saves the screenshot take makes as name.png under
// $STATELAB_SCREENSHOTS, when that is set.
func shoot(t *testing.T, ctx context.Context, name string, take chromedp.Action[[]byte]) {
	t.Helper()
	dir := os.Getenv("STATELAB_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, take)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ShotViewport saves what the window shows, no more: what a room sees
// without scrolling.
func ShotViewport(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shoot(t, ctx, name, chromedp.CaptureScreenshot())
}

// WaitText waits, up to 15 seconds, until the text of the element that the
// CSS selector sel finds satisfies ok, and returns it.
func WaitText(t *testing.T, ctx context.Context, sel string, ok func(string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	last := ""
	for {
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil && ok(text) {
			return text
		}
		last = text
		select {
		case <-ctx.Done():
			t.Fatalf("%s never showed what was awaited; last: %q (%v)", sel, last, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
