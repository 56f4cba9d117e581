package browsertest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"statelab/internal/browsertest"
	"statelab/scenarios"
	"statelab/scenarios/report"
)

// TestBrowserReport: the HTML report of the recorded run all, opened from
// a file as a student would: every scenario's chart drawn with its
// answers, the grid, nothing fetched from elsewhere (the page's policy
// forbids it, and the browser loads nothing else), no sideways scrolling
// at 390 px outside the charts' own boxes, and it prints.
func TestBrowserReport(t *testing.T) {
	j, err := scenarios.LoadJournal("../../examples/journals/run-all.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(f, j); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx := browsertest.New(t, 1280, 900)
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatal(err)
	}
	charts := eval[int](t, ctx, `document.querySelectorAll("section.scenario svg").length`)
	marks := eval[[]int](t, ctx, `[...document.querySelectorAll("section.scenario svg")].map(s => s.querySelectorAll("circle, rect[class]:not(.band)").length)`)
	rows := eval[int](t, ctx, `document.querySelectorAll("table.grid tr").length - 1`)
	loaded := eval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name)`)
	if charts != len(j.Scenarios) || rows != len(j.Scenarios) || len(loaded) != 0 {
		t.Errorf("%d charts, %d grid rows for %d scenarios; loaded from elsewhere: %v", charts, rows, len(j.Scenarios), loaded)
	}
	for i, n := range marks {
		if want := len(j.Scenarios[i].Requests); n != want {
			t.Errorf("%s: %d marks drawn for %d answers", j.Scenarios[i].Name, n, want)
		}
	}
	kills := eval[int](t, ctx, `document.querySelectorAll("#s3-kill-instance svg text.fault").length`)
	if kills != 4 {
		t.Errorf("kill-instance's chart marks %d kills, want 4 (one per variant)", kills)
	}
	browsertest.ShotViewport(t, ctx, "report")
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView("#s3-kill-instance svg")); err != nil {
		t.Fatal(err)
	}
	browsertest.ShotViewport(t, ctx, "report-kill-instance")
	pdf, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{})
		return res.Data, err
	})
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") || len(pdf) < 10_000 {
		t.Errorf("printing the report: %d bytes, %v", len(pdf), err)
	}

	narrow := browsertest.New(t, 390, 844)
	if err := chromedp.Do(narrow, chromedp.Navigate("file://"+file)); err != nil {
		t.Fatal(err)
	}
	fitsWidth(t, narrow, "the report at 390 px")
	browsertest.ShotViewport(t, narrow, "report-narrow")
}
