//go:build unix

package lb

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open with nothing
// unread: a peek that would block means the backend has neither closed it
// nor sent anything.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data (a stale answer) or EOF (closed) both mean: do not use it.
		open = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
		return true // never wait: the answer is now or never
	})
	return err == nil && open
}
