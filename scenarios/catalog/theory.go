package catalog

import (
	"fmt"
	"io"
	"strings"

	"statelab"
)

// WriteTheory writes the derivation table as Markdown: for each scenario,
// what each description (the lab's variants, and any others given) is
// predicted to show, with the properties the prediction rests on. It is
// the README's table and what `lab list --theory` prints.
func WriteTheory(w io.Writer, ds ...statelab.Description) error {
	if len(ds) == 0 {
		ds = statelab.Descriptions()
	}
	var b strings.Builder
	b.WriteString("| scenario |")
	for _, d := range ds {
		fmt.Fprintf(&b, " %s |", d.Variant)
	}
	b.WriteString("\n|---|")
	for range ds {
		b.WriteString("---|")
	}
	b.WriteString("\n| *what it is* |")
	for _, d := range ds {
		fmt.Fprintf(&b, " %s: %s |", d.Home, d.Where())
	}
	b.WriteString("\n")
	for _, sc := range catalogue {
		fmt.Fprintf(&b, "| %s |", sc.Name)
		for _, d := range ds {
			var texts []string
			for _, e := range sc.Predict(d) {
				texts = append(texts, e.Text)
			}
			fmt.Fprintf(&b, " %s |", strings.ReplaceAll(strings.Join(texts, "; "), "|", "/"))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
