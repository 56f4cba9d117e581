package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultSocket is where lab up serves its lab and lab run --up looks for
// it: in $XDG_RUNTIME_DIR when there is one, else in a directory of this
// user's own under the temporary directory. Either is this user's only
// (see PrivateDir), so that nobody else can serve or reach a lab there.
func DefaultSocket() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "statelab-up.sock")
	}
	return filepath.Join(os.TempDir(), "statelab-"+strconv.Itoa(os.Getuid()), "up.sock")
}

// PrivateDir makes sure the directory of the socket at path is this
// user's only: created with mode 0700 when missing; an existing one must
// be a real directory (not a link) owned by this user that nobody else
// may enter. In a directory others can write to (/tmp), another user
// could put a socket of their own where lab run --up looks.
func PrivateDir(path string, create bool) error {
	dir := filepath.Dir(path)
	if create {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("the control socket's directory %s: %v", dir, err)
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("the control socket's directory %s: %v", dir, err)
	}
	uid, known := owner(fi)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("the control socket's directory %s is not a directory (a link?)", dir)
	case known && uid != os.Getuid():
		return fmt.Errorf("the control socket's directory %s belongs to user %d, not to you: choose --control in a directory only you can use", dir, uid)
	case known && fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("the control socket's directory %s can be used by others (mode %04o): choose --control in a directory only you can use (mode 0700)", dir, fi.Mode().Perm())
	}
	return nil
}

// ownSocket reports whether path is a socket of this user's (what a
// stale one left by a lab up that died is), and an error for anything
// else there: a file or a directory is never removed in its place.
func ownSocket(path string) (exists bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return true, fmt.Errorf("%s exists and is not a socket: choose another --control (it is not removed)", path)
	}
	if uid, known := owner(fi); known && uid != os.Getuid() {
		return true, fmt.Errorf("the socket %s belongs to user %d, not to you", path, uid)
	}
	return true, nil
}

// RemoveStale removes a socket of this user's at path that nobody serves
// (the caller has checked), and nothing else.
func RemoveStale(path string) error {
	exists, err := ownSocket(path)
	if err != nil || !exists {
		return err
	}
	return os.Remove(path)
}

// tokenFile is where lab up keeps its balancer's admin token: beside its
// control socket, in the same private directory, readable by this user
// only, for lab watch to find.
func tokenFile(socket string) string { return socket + ".token" }

// WriteToken keeps token beside the socket (mode 0600) and returns what
// removes it.
func WriteToken(socket, token string) (remove func(), err error) {
	if err := PrivateDir(socket, false); err != nil {
		return nil, err
	}
	path := tokenFile(socket)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("the admin token's file: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// ReadToken returns the admin token the lab up at socket keeps, when this
// user's private directory holds one.
func ReadToken(socket string) (string, error) {
	if err := PrivateDir(socket, false); err != nil {
		return "", err
	}
	f, err := os.Open(tokenFile(socket))
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, 256)
	n, _ := f.Read(b)
	return strings.TrimSpace(string(b[:n])), nil
}
