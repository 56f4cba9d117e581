package cli

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"statelab"
	"statelab/scenarios"
	"statelab/scenarios/report"
)

// What lab run prints and writes besides the run: the dry run and the
// reports.

// scenarioCount says "1 scenario was", "3 scenarios were".
func scenarioCount(n int) string {
	if n == 1 {
		return "1 scenario was"
	}
	return fmt.Sprintf("%d scenarios were", n)
}

// reportFiles are where a run's reports go ("": not written; "-": stdout).
type reportFiles struct{ json, markdown, html string }

func writeReports(j *scenarios.Journal, to reportFiles, stdout io.Writer) error {
	if j == nil {
		return nil
	}
	write := func(name string, f func(io.Writer) error) error {
		if name == "" {
			return nil
		}
		if name == "-" {
			return f(stdout)
		}
		file, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := f(file); err != nil {
			file.Close()
			return err
		}
		return file.Close()
	}
	if err := write(to.json, func(w io.Writer) error {
		// A name ending in .gz is written compressed (a run all's
		// journal: about 11 MB, 0.5 MB compressed); lab replay reads both.
		var zw *gzip.Writer
		if strings.HasSuffix(to.json, ".gz") {
			zw, _ = gzip.NewWriterLevel(w, gzip.BestCompression)
			w = zw
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(j); err != nil {
			return err
		}
		if zw != nil {
			return zw.Close()
		}
		return nil
	}); err != nil {
		return fmt.Errorf("write the JSON journal: %w", err)
	}
	if err := write(to.markdown, func(w io.Writer) error { return report.WriteMarkdown(w, j) }); err != nil {
		return fmt.Errorf("write the Markdown report: %w", err)
	}
	if err := write(to.html, func(w io.Writer) error { return report.WriteHTML(w, j) }); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	return nil
}

func checkWritable(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	return f.Close()
}

func dryRun(w io.Writer, scs []*scenarios.Scenario, plan scenarios.Plan, redisMode string, reveal bool) error {
	redis := "a real redis-server (found on PATH)"
	if _, err := exec.LookPath("redis-server"); err != nil || redisMode == "embedded" {
		redis = "an embedded Redis (miniredis), since no redis-server is on PATH"
		if redisMode == "embedded" {
			redis = "an embedded Redis (miniredis), as asked"
		}
	}
	var names []string
	for _, v := range statelab.Variants {
		names = append(names, fmt.Sprintf("%s-1..%d", v, scenarios.MinInstances))
	}
	fmt.Fprintf(w, "dry run: nothing is started.\nlab: local processes: %s, a balancer with a pool per variant, and %s\n", strings.Join(names, ", "), redis)
	fmt.Fprintf(w, "plan: %s\n", plan.Describe())
	for _, s := range scs {
		fmt.Fprintf(w, "\n%s  (%s)\n", s.Name, s.Setup)
		for i, st := range s.Steps {
			fmt.Fprintf(w, "  step %d/%d  %s\n", i+1, len(s.Steps), st.Title)
			if st.Why != "" {
				fmt.Fprintf(w, "             %s\n", st.Why)
			}
		}
		if reveal {
			for _, e := range s.Expectations() {
				fmt.Fprintf(w, "  expect     %s %s\n", e.Variant, e.Text)
			}
		} else {
			fmt.Fprintf(w, "  expect     %d predictions, not shown (--reveal shows them; --predict asks the room first)\n", len(s.Expectations()))
		}
		var claims []string
		for _, c := range s.Claims {
			claims = append(claims, c.String())
		}
		fmt.Fprintf(w, "  tests      %s\n", strings.Join(claims, "; "))
	}
	return nil
}
