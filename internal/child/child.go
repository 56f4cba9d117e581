// Package child runs the lab's child processes (instances, the balancer,
// and the peers the benchmarks compare it with): started with attributes that
// make sure none outlives the lab, their output kept for error messages, and
// ended by the signal the caller chooses, by the id that started them.
package child

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"statelab/internal/poll"
	"statelab/internal/procattr"
)

// Process is a child process. The zero value is ready to Start; a Process
// can be started again after it ended.
type Process struct {
	// Name prefixes its log lines.
	Name string
	// Unexpected, when set, is called when the process ends without
	// having been told to (by End).
	Unexpected func(name, state string)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    *tail
	state  atomic.Pointer[string] // how the last run ended, once it has
	ending atomic.Bool            // End is ending it
}

// Running reports whether the process is running.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Start starts exe with args and env. Its output is kept (the last few KiB)
// and, when logs is set, copied there line by line, prefixed with the name.
func (p *Process) Start(exe string, args, env []string, logs io.Writer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	p.out = &tail{}
	var w io.Writer = p.out
	if logs != nil {
		w = io.MultiWriter(p.out, &prefixed{w: logs, prefix: "[" + p.Name + "] "})
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = procattr.Child()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	p.state.Store(nil)
	p.ending.Store(false)
	go func() {
		state := "exited"
		if err := cmd.Wait(); err != nil {
			state = err.Error()
		}
		p.state.Store(&state)
		if !p.ending.Load() && p.Unexpected != nil {
			p.Unexpected(p.Name, state)
		}
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

// Output is the end of what the process wrote.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

// WaitReady calls check until it succeeds, the process exits, or limit
// passes (see poll.Until). A process that exits first is reported with how
// it ended and what it last wrote.
func (p *Process) WaitReady(ctx context.Context, limit time.Duration, check func(context.Context) error) error {
	p.mu.Lock()
	exited, out := p.exited, p.out
	p.mu.Unlock()
	err := poll.Until(ctx, limit, 10*time.Millisecond, func(ctx context.Context) error {
		select {
		case <-exited:
			state := "exited"
			if s := p.state.Load(); s != nil {
				state = *s
			}
			return poll.Stop(&exitedError{state: state, output: out.String()})
		default:
		}
		return check(ctx)
	})
	var ee *exitedError
	if err != nil && !errors.As(err, &ee) && ctx.Err() == nil {
		// Not ready in time: what it wrote may say why.
		return fmt.Errorf("%w: %s", err, out.String())
	}
	return err
}

// exitedError is a process that ended while it was waited for.
type exitedError struct{ state, output string }

func (e *exitedError) Error() string { return fmt.Sprintf("it ended (%s): %s", e.state, e.output) }

// WaitHTTP polls url until it answers 200, the process exits, or limit
// passes.
func (p *Process) WaitHTTP(ctx context.Context, url string, limit time.Duration) error {
	return p.WaitReady(ctx, limit, poll.OK(&http.Client{Timeout: 500 * time.Millisecond}, url))
}

// Signal sends sig to the running process. A process that has ended on
// its own is reported with how it ended and what it last wrote.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New("not running")
	}
	if state := p.state.Load(); state != nil {
		return fmt.Errorf("it has ended (%s): %s", *state, p.out.String())
	}
	return p.cmd.Process.Signal(sig)
}

// ExpectEnd says that the process is about to end on its own, on purpose:
// its end is not reported as unexpected.
func (p *Process) ExpectEnd() { p.ending.Store(true) }

// End sends sig and waits for the process to exit (SIGKILL after 5 s).
func (p *Process) End(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	p.ending.Store(true)
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
	return nil
}

// tail keeps the last few KiB a process wrote.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// prefixed writes each line with a prefix.
type prefixed struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

// Pid is the running process's id, or 0.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}
