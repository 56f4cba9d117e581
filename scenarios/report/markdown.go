package report

import (
	"fmt"
	"io"
	"strings"

	"statelab"
	"statelab/scenarios"
)

// WriteMarkdown writes a journal as Markdown: per scenario its steps, the
// verdict table, the expectations and the lesson.
func WriteMarkdown(w io.Writer, j *scenarios.Journal) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# statelab run\n\n%s; %d users per variant, seed %d; %s; %.1f s.\n", j.Runtime, j.Users, j.Seed, j.Started.Format("2006-01-02 15:04 MST"), j.Seconds)
	status := "every expectation holds"
	if !j.OK {
		status = "**some expectations do not hold**"
	}
	fmt.Fprintf(&b, "\nResult: %s.\n", status)
	for _, s := range j.Scenarios {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", s.Name, s.Summary)
		for _, c := range s.Claims {
			fmt.Fprintf(&b, "Claim tested (%s: %s): %q\n\n", c.Source, c.Row, c.Text)
		}
		for i, st := range s.Steps {
			fmt.Fprintf(&b, "%d. **%s** %s\n", i+1, st.Title, st.Why)
			for _, n := range st.Notes {
				fmt.Fprintf(&b, "   - %s\n", n)
			}
		}
		if len(s.Verdicts) > 1 {
			b.WriteString("\n| probe | variant | users | kept | lost session | lost data | unavailable | wrong user |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
			for _, vd := range s.Verdicts {
				for _, v := range statelab.Variants {
					t := vd.Variants[string(v)]
					fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", vd.Name, v, t.Users, t.Kept, t.LostSession, t.LostData, t.Unavailable, t.WrongUser)
				}
			}
		}
		if s.Variants != nil {
			fmt.Fprintf(&b, "\nVerdict (%s):\n", s.Verdict)
			b.WriteString("\n| variant | users | kept | lost session | lost data | unavailable | wrong user | detect |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, v := range statelab.Variants {
				t := s.Variants[string(v)]
				detect := "-"
				if t.DetectSeconds != nil {
					detect = fmt.Sprintf("%.2f s", *t.DetectSeconds)
				}
				fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", v, t.Users, t.Kept, t.LostSession, t.LostData, t.Unavailable, t.WrongUser, detect)
			}
		}
		for _, t := range s.Tables {
			fmt.Fprintf(&b, "\n%s\n\n| %s |\n|%s\n", t.Title, strings.Join(t.Columns, " | "), strings.Repeat("---|", len(t.Columns)))
			for _, r := range t.Rows {
				fmt.Fprintf(&b, "| %s |\n", strings.Join(r, " | "))
			}
		}
		if len(s.Expectations) > 0 {
			b.WriteString("\nExpectations:\n\n")
			for _, e := range s.Expectations {
				mark := "✓"
				if !e.Holds {
					mark = "✗ **does not hold**:"
				}
				fmt.Fprintf(&b, "- %s %s %s: %s\n", mark, e.Variant, e.Text, e.Observed)
			}
		}
		if s.Error != "" {
			fmt.Fprintf(&b, "\n**Failed:** %s\n", s.Error)
		}
		if s.Lesson != "" {
			fmt.Fprintf(&b, "\n**Lesson.** %s\n", s.Lesson)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
