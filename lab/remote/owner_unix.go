//go:build unix

package remote

import (
	"io/fs"
	"syscall"
)

// owner is the user id owning a file.
func owner(fi fs.FileInfo) (uid int, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
