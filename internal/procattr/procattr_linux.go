// Package procattr gives the lab's child processes the attributes that make
// sure none outlives the lab: on Linux the kernel kills a child when the lab
// dies, however it dies. Children get their own process group, so that a
// Ctrl-C at the terminal reaches the lab, which then ends them in order.
package procattr

import "syscall"

// Child returns the attributes for a child process of the lab.
func Child() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
