//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// termSize is the size in columns and rows of the terminal w writes to,
// or zeros.
func termSize(w any) (cols, rows int) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0
	}
	return int(ws.Col), int(ws.Row)
}
