package report

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"statelab/scenarios"
)

// Prompter is the instructor at a terminal in step mode: before each step
// and before each verdict it asks, through a Text, whether to go on, and
// reads the answer from In.
type Prompter struct {
	Text *Text
	In   *bufio.Reader
	// Echo writes each answer after its prompt: when the answers come from
	// a pipe or a file, no terminal echoes them, and the transcript would
	// run the prompt into the next line.
	Echo bool
}

var _ scenarios.Pacer = (*Prompter)(nil)

// Pause asks: Enter goes on, r restarts the scenario from a clean lab, s
// skips the rest of it, q stops the run. The end of the input stops the
// run: nobody is there to press Enter.
func (pr *Prompter) Pause(_ context.Context, p scenarios.Pause) scenarios.Decision {
	for {
		if p.Verdict {
			pr.Text.prompt("press Enter to see the verdict (r: restart this scenario, q: stop) ")
		} else {
			pr.Text.prompt(fmt.Sprintf("press Enter to run step %d/%d (r: restart this scenario, s: skip it, q: stop) ", p.Step, p.Steps))
		}
		line, err := pr.In.ReadString('\n')
		if pr.Echo {
			pr.Text.answer(strings.TrimRight(line, "\r\n"))
		}
		line = strings.TrimSpace(strings.ToLower(line))
		if err != nil && line == "" {
			return scenarios.Quit
		}
		switch line {
		case "":
			return scenarios.Go
		case "q", "quit", "stop":
			return scenarios.Quit
		case "s", "skip":
			if !p.Verdict {
				return scenarios.Skip
			}
		case "r", "restart":
			return scenarios.Restart
		}
	}
}
