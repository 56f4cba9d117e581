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

// TestPublished: in the compose stack, the URLs printed are the host's.
func TestPublished(t *testing.T) {
	vars := map[string]string{
		"STATELAB_PUBLISHED_MEMORY": "127.0.0.1:18081",
		"STATELAB_PUBLISHED_REDIS":  "0.0.0.0:8082",
		"STATELAB_PUBLISHED_JWT":    "not an address",
	}
	env := Env{Getenv: func(k string) string { return vars[k] }}
	for name, want := range map[string]string{"memory": "http://127.0.0.1:18081", "redis": "http://127.0.0.1:8082", "jwt": "", "live": ""} {
		if got := published(env, name); got != want {
			t.Errorf("published(%s) = %q, want %q", name, got, want)
		}
	}
	if got := published(Env{}, "memory"); got != "" {
		t.Errorf("without an environment: %q", got)
	}
}
