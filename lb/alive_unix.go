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
func alive(c net.Conn) bool { return newPeeker(c).look() == idleOpen }

// peeker peeks at one connection without allocating: it is made once per
// connection, its callback bound once.
type peeker struct {
	rc    syscall.RawConn
	state idleState
	buf   [1]byte
	fn    func(fd uintptr) bool
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
	n, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// Data (an answer nobody asked for) or EOF (closed) both mean: do
	// not use it.
	switch {
	case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK):
		p.state = idleOpen
	case err == nil && n > 0:
		p.state = idleStray
	default:
		p.state = idleClosed
	}
	return true // never wait: the answer is now or never
}

// look says how an idle connection is: open with nothing unread, closed,
// or holding bytes the backend sent unasked.
func (p *peeker) look() idleState {
	if p.rc == nil {
		return idleOpen // not a socket: a closed one shows on first use
	}
	p.state = idleClosed
	if p.rc.Read(p.fn) != nil {
		return idleClosed
	}
	return p.state
}
