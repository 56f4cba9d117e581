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
func alive(c net.Conn) bool { return newPeeker(c).alive() }

// peeker peeks at one connection without allocating: it is made once per
// connection, its callback bound once.
type peeker struct {
	rc   syscall.RawConn
	open bool
	buf  [1]byte
	fn   func(fd uintptr) bool
}

func newPeeker(c net.Conn) *peeker {
	p := &peeker{}
	if sc, ok := c.(syscall.Conn); ok {
		p.rc, _ = sc.SyscallConn()
	}
	p.fn = p.peek
	return p
}

func (p *peeker) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Data (a stale answer) or EOF (closed) both mean: do not use it.
	p.open = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
	return true // never wait: the answer is now or never
}

func (p *peeker) alive() bool {
	if p.rc == nil {
		return true // not a socket: a closed one shows on first use
	}
	p.open = false
	return p.rc.Read(p.fn) == nil && p.open
}
