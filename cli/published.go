package cli

import (
	"net"
	"strings"
)

// published is the URL at which the compose stack publishes a service on
// the host (memory, redis, jwt, cookie, admin, live), from the lab
// service's STATELAB_PUBLISHED_NAME, which compose.yaml sets from the same
// variables as the ports; "" outside the stack. Inside it, the lab reaches
// the balancer as lb:8081, which no browser on the host can open.
func published(env Env, name string) string {
	if env.Getenv == nil {
		return ""
	}
	v := env.Getenv("STATELAB_PUBLISHED_" + strings.ToUpper(name))
	host, port, err := net.SplitHostPort(v)
	if v == "" || err != nil || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // published on every interface: this machine's loopback is one
	}
	return "http://" + net.JoinHostPort(host, port)
}
