package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"statelab/internal/poll"
	"statelab/scenarios/report"
)

// serveLive serves the live page at addr until stop is called. The page
// shows what the run's events (its observer calls) tell it, nothing else.
func serveLive(addr string) (live *report.Live, url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", nil, fmt.Errorf("the live page: %w", err)
	}
	live = report.NewLive()
	srv := &http.Server{Handler: live.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return live, liveURL(ln.Addr()), func() { srv.Close() }, nil
}

// liveURL is the address a browser on this machine opens: for a page on
// every interface (0.0.0.0, as in the compose lab service, which publishes
// the port on the host's loopback), the loopback one.
func liveURL(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(t.Port))
	}
	return "http://" + a.String()
}

// lastLook gives a live page that is open up to three seconds to draw the
// final state before the lab ends (the page polls every 400 ms and says,
// on its next poll, which state it drew), so that it does not freeze on
// the last step but shows the verdict and says the run is over.
func lastLook(ctx context.Context, live *report.Live) {
	if ever, _ := live.Served(); !ever {
		return
	}
	_ = poll.Until(ctx, 3*time.Second, 50*time.Millisecond, func(context.Context) error {
		if _, current := live.Served(); !current {
			return errors.New("no page has drawn the final state")
		}
		return nil
	})
}

// checkRedis checks a --redis flag.
func checkRedis(mode string) error {
	if mode != "auto" && mode != "server" && mode != "embedded" {
		return UsageError{fmt.Errorf("--redis %q: want auto, server or embedded", mode)}
	}
	return nil
}
