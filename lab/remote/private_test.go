package remote_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"statelab/lab/remote"
)

// TestPrivateDir: the control socket's directory must be this user's
// only; a link, a directory others may use, or a file in the socket's
// place is refused, and a file is never removed as a stale socket.
func TestPrivateDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	private := mk("private", 0o700)
	open := mk("open", 0o755)
	link := filepath.Join(base, "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what, path string
		create     bool
		want       string // "" for accepted
	}{
		{"a private directory", filepath.Join(private, "up.sock"), false, ""},
		{"created, 0700", filepath.Join(base, "made", "up.sock"), true, ""},
		{"a directory others may enter", filepath.Join(open, "up.sock"), false, "can be used by others"},
		{"a link to a directory", filepath.Join(link, "up.sock"), false, "not a directory"},
		{"missing, not created", filepath.Join(base, "none", "up.sock"), false, "no such file"},
	} {
		err := remote.PrivateDir(tc.path, tc.create)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.what, err, tc.want)
		}
	}
	if fi, err := os.Stat(filepath.Join(base, "made")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the created directory: %v, %v", fi, err)
	}

	notes := filepath.Join(private, "notes.txt")
	if err := os.WriteFile(notes, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := remote.RemoveStale(notes); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("RemoveStale on a file: %v", err)
	}
	if _, err := remote.Dial(context.Background(), notes, "x"); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Dial on a file: %v", err)
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "keep me" {
		t.Errorf("the file at the socket's path was touched: %q, %v", b, err)
	}
	// A stale socket of this user's, nobody serving it, is removed.
	stale := filepath.Join(private, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if err := remote.RemoveStale(stale); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale socket is still there: %v", err)
	}
	// A socket in a directory others may use is refused by Dial.
	sock := filepath.Join(open, "up.sock")
	l, err = net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := remote.Dial(context.Background(), sock, "x"); err == nil || !strings.Contains(err.Error(), "can be used by others") {
		t.Errorf("Dial in an open directory: %v", err)
	}
}

// TestToken: lab up's admin token is kept for this user only, beside the
// socket, and read back; in a directory others may use, neither.
func TestToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "up")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "up.sock")
	remove, err := remote.WriteToken(sock, "a-token-of-twenty-six-chars")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock + ".token"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the token's file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if got, err := remote.ReadToken(sock); err != nil || got != "a-token-of-twenty-six-chars" {
		t.Errorf("ReadToken: %q, %v", got, err)
	}
	remove()
	if _, err := remote.ReadToken(sock); err == nil {
		t.Error("a removed token was read")
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	if _, err := remote.WriteToken(filepath.Join(open, "up.sock"), "x"); err == nil {
		t.Error("a token was written in a directory others may use")
	}
}
