package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"statelab/scenarios"
)

// Lines reads the lines a person types (or a file gives) for the prompts
// of a run, so that no prompt outlives Ctrl-C: Read returns when a line
// comes or when its context ends, whichever is first. One goroutine reads
// at a time; a line that comes after its context ended is kept for the
// next Read. Lines longer than MaxLine bytes are cut there.
type Lines struct {
	mu      sync.Mutex
	rd      *bufio.Reader
	got     chan typed
	reading bool
}

// MaxLine bounds a line a prompt reads.
const MaxLine = 4 << 10

type typed struct {
	s   string
	err error
}

// NewLines reads lines from r.
func NewLines(r io.Reader) *Lines {
	return &Lines{rd: bufio.NewReaderSize(r, MaxLine), got: make(chan typed, 1)}
}

// Read returns the next line, without its end; at the end of the input,
// what is left and io.EOF; when ctx ends first, ctx's error.
func (l *Lines) Read(ctx context.Context) (string, error) {
	l.mu.Lock()
	if !l.reading {
		l.reading = true
		go func() {
			s, err := readLine(l.rd)
			l.got <- typed{s, err}
		}()
	}
	l.mu.Unlock()
	select {
	case t := <-l.got:
		l.mu.Lock()
		l.reading = false
		l.mu.Unlock()
		return t.s, t.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// readLine reads one line, cut at MaxLine bytes (the rest is dropped).
func readLine(rd *bufio.Reader) (string, error) {
	b, err := rd.ReadSlice('\n')
	line := string(b)
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = rd.ReadSlice('\n')
	}
	return strings.TrimRight(line, "\r\n"), err
}

// Prompter is the instructor at a terminal in step mode: before each step
// and before each verdict it asks, through a Text, whether to go on, and
// reads the answer from In.
type Prompter struct {
	Text *Text
	In   *Lines
	// Echo writes each answer after its prompt: when the answers come from
	// a pipe or a file, no terminal echoes them, and the transcript would
	// run the prompt into the next line.
	Echo bool
}

var _ scenarios.Pacer = (*Prompter)(nil)

// Pause asks: Enter goes on, r restarts the scenario from a clean lab, s
// skips the rest of it, q stops the run. The end of the input stops the
// run: nobody is there to press Enter. So does Ctrl-C (ctx ends), at once.
func (pr *Prompter) Pause(ctx context.Context, p scenarios.Pause) scenarios.Decision {
	for {
		if p.Verdict {
			pr.Text.prompt("press Enter to see the verdict (r: restart this scenario, q: stop) ")
		} else {
			pr.Text.prompt(fmt.Sprintf("press Enter to run step %d/%d (r: restart this scenario, s: skip it, q: stop) ", p.Step, p.Steps))
		}
		line, err := pr.In.Read(ctx)
		if ctx.Err() != nil {
			pr.Text.answer("")
			return scenarios.Quit
		}
		if pr.Echo {
			pr.Text.answer(line)
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
