// Package redisserver runs a real redis-server as a child process (see
// internal/child) on a free loopback port, for the local lab and for tests:
// start it, stop it (SIGTERM, so Redis saves what its persistence settings
// say), kill it, and start it again on the same port with or without
// persistence.
package redisserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"statelab/internal/child"
)

// ErrNotFound is returned by Start when no redis-server is on PATH.
var ErrNotFound = errors.New("redis-server not found on PATH")

// Server is a redis-server child process. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is the server's 127.0.0.1:port; it stays the same across restarts.
	Addr string
	// Version is what `redis-server --version` printed, e.g. "v=7.0.15".
	Version string

	bin  string
	dir  string
	port int
	proc child.Process

	mu      sync.Mutex // serialises starts and stops
	persist bool
	extra   []string
}

// Options configure Start.
// MaxMemory is the memory bound of a lab's Redis, here and in compose.yaml.
const MaxMemory = "128mb"

type Options struct {
	// Dir is where Redis keeps its append-only file. Empty means a new
	// temporary directory, removed by Close.
	Dir string
	// Persist turns on the append-only file (appendonly yes, fsync every
	// write), so that a stopped Redis comes back with its data.
	Persist bool
	// Args are more arguments of redis-server, after the lab's own (a
	// replica's --replicaof).
	Args []string
}

// Start starts redis-server on a free loopback port and waits until it answers
// PING. It returns ErrNotFound when redis-server is not on PATH.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotFound
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("redis-server --version: %w", err)
	}
	version := "unknown"
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "v=") {
			version = strings.TrimPrefix(f, "v=")
		}
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "statelab-redis-"); err != nil {
			return nil, err
		}
	}
	s := &Server{bin: bin, dir: dir, Version: version, proc: child.Process{Name: "redis"}, extra: opts.Args}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.Restart(ctx, opts.Persist); lastErr == nil {
			return s, nil
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	if opts.Dir == "" {
		os.RemoveAll(dir)
	}
	return nil, lastErr
}

// Restart starts the server again on its port after Stop or Kill, with
// persistence on or off. It waits until Redis answers PING.
func (s *Server) Restart(ctx context.Context, persist bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc.Running() {
		return fmt.Errorf("redis-server on %s is already running", s.Addr)
	}
	appendonly := "no"
	if persist {
		appendonly = "yes"
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", appendonly,
		"--appendfsync", "always",
		"--daemonize", "no",
		"--loglevel", "warning",
		// Bounded, as the workshop stack's is: past MaxMemory, Redis evicts
		// the least recently used sessions (keys with an expiry), never the
		// stores' counters, and counts them (INFO stats: evicted_keys).
		"--maxmemory", MaxMemory,
		"--maxmemory-policy", "volatile-lru",
	}
	args = append(args, s.extra...)
	if err := s.proc.Start(s.bin, args, nil, nil); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.persist = persist
	if err := s.proc.WaitReady(ctx, 10*time.Second, func(context.Context) error { return ping(s.Addr) }); err != nil {
		_ = s.proc.End(syscall.SIGKILL)
		return fmt.Errorf("redis-server on %s: %w", s.Addr, err)
	}
	return nil
}

// Running reports whether the process is up.
func (s *Server) Running() bool { return s.proc.Running() }

// Persistent reports whether the running server keeps an append-only file.
func (s *Server) Persistent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persist
}

// Stop sends SIGTERM and waits for the process to exit, as `docker stop`
// does: Redis writes what its persistence settings ask for first.
func (s *Server) Stop() error { return s.end(syscall.SIGTERM) }

// Kill sends SIGKILL and waits for the process to exit.
func (s *Server) Kill() error { return s.end(syscall.SIGKILL) }

func (s *Server) end(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.End(sig)
}

// Close kills the server and removes its directory if Start made it.
func (s *Server) Close() error {
	err := s.Kill()
	if strings.HasPrefix(filepath.Base(s.dir), "statelab-redis-") {
		os.RemoveAll(s.dir)
	}
	return err
}

// FreePort asks the kernel for a free loopback TCP port. Another process may
// take it before the caller binds it; callers retry on "address in use".
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Ping sends one PING to addr and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(buf[:n], []byte("+PONG")) {
		return fmt.Errorf("unexpected answer %q", buf[:n])
	}
	return nil
}
