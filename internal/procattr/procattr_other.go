//go:build !linux

package procattr

import "syscall"

// Child returns the attributes for a child process of the lab. Outside Linux
// there is no parent-death signal: the lab ends its children itself.
func Child() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
