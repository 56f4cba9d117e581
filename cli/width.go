package cli

import "strconv"

// PipedWidth is the width of lab run's text when it goes to a file or a
// pipe and COLUMNS does not say otherwise.
const PipedWidth = 100

// minWidth is the narrowest text lab run writes: below it, lines may be
// wider than the terminal.
const minWidth = 60

// textWidth is how wide lab run's lines may be: the terminal's width, else
// COLUMNS, else PipedWidth; never less than minWidth nor more than 200.
func textWidth(w any, env Env) int {
	n := 0
	if isTerminal(w) {
		n, _ = termSize(w)
	}
	if n <= 0 {
		if c, err := strconv.Atoi(env.Getenv("COLUMNS")); err == nil {
			n = c
		}
	}
	if n <= 0 {
		n = PipedWidth
	}
	return min(max(n, minWidth), 200)
}
