package cli

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"statelab/lab"
	"statelab/lab/remote"
)

// serveControl serves rt on the Unix socket at path, for lab run --up, in
// a directory only this user can use. A socket left by a lab up that died
// is replaced; one that answers is another lab up's, and an error;
// anything else at path is left alone, and an error.
func serveControl(rt lab.Runtime, path string) (srv *remote.Server, stop func(), err error) {
	if err := remote.PrivateDir(path, true); err != nil {
		return nil, nil, err
	}
	if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
		c.Close()
		return nil, nil, fmt.Errorf("another lab up serves %s: end it first, or give this one --control PATH", path)
	}
	if err := remote.RemoveStale(path); err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, nil, fmt.Errorf("the control socket %s: %v", path, err)
	}
	// The directory keeps others out already; the socket's mode too.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, nil, fmt.Errorf("the control socket %s: %v", path, err)
	}
	srv = remote.NewServer(rt)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(l) }()
	return srv, func() { hs.Close(); os.Remove(path) }, nil
}

// maxUpUsers is the most users per variant lab up's instances take logins
// for from the runner's one address (their default login burst, 1000, is
// twice that).
const maxUpUsers = 500

// attachUp attaches lab run to a running lab up, refusing the flags that
// belong to lab up (the lab it runs is already set up).
func attachUp(ctx context.Context, fs *flagSet, runtime, path string, names []string, users int) (lab.Runtime, error) {
	var theirs []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "redis", "logs", "admin-token":
			theirs = append(theirs, "--"+f.Name)
		}
	})
	if runtime != "local" {
		return nil, UsageError{fmt.Errorf("--up runs on the local lab up; --runtime %s is for a lab of its own", runtime)}
	}
	if len(theirs) > 0 {
		return nil, UsageError{fmt.Errorf("%s: not with --up (the lab up was started with its own settings, and stays up after the run anyway)", strings.Join(theirs, ", "))}
	}
	if users > maxUpUsers {
		return nil, UsageError{fmt.Errorf("--users %d: lab up's instances take logins for at most %d users from one address; for more, run without --up", users, maxUpUsers)}
	}
	rt, err := remote.Dial(ctx, path, "lab run "+strings.Join(names, " "))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ExitCodeError{130}
		}
		return nil, StartupError{err}
	}
	return rt, nil
}
