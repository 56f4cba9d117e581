package cli

import (
	"net"
	"testing"
)

// TestLiveURL: a live page on every interface is announced at the
// loopback address a browser on this machine opens.
func TestLiveURL(t *testing.T) {
	for _, tc := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8090}, "http://127.0.0.1:8090"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8090}, "http://127.0.0.1:8090"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18090}, "http://127.0.0.1:18090"},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 2), Port: 8090}, "http://192.168.1.2:8090"},
	} {
		if got := liveURL(tc.addr); got != tc.want {
			t.Errorf("liveURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
