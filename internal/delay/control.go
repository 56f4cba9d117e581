package delay

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// State is what the control API says of a proxy.
type State struct {
	Target string `json:"target"`
	Delay  string `json:"delay"`
	// Sent is the bytes clients have sent the target.
	Sent int64 `json:"sent,omitempty"`
	// Stalled says the proxy holds every answer back (Proxy.Stall).
	Stalled bool `json:"stalled,omitempty"`
	// Holding counts the connections whose next answer the stall holds.
	Holding int64 `json:"holding,omitempty"`
}

// Control is the proxy's HTTP control API: GET /delay says the delay, PUT
// /delay with {"delay":"20ms"} sets it. It answers only a Host that DNS
// rebinding cannot give a web page: an IP address, localhost, or a name
// of one label (a container's, as "redis-delay" in the workshop stack);
// any other is refused 403.
func (p *Proxy) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /delay", func(w http.ResponseWriter, r *http.Request) { p.reply(w, http.StatusOK, "") })
	mux.HandleFunc("PUT /delay", func(w http.ResponseWriter, r *http.Request) {
		var req State
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			p.reply(w, http.StatusBadRequest, `want {"delay":"20ms"}`)
			return
		}
		d, err := time.ParseDuration(req.Delay)
		if err == nil {
			err = p.SetDelay(d)
		}
		if err != nil {
			p.reply(w, http.StatusBadRequest, err.Error())
			return
		}
		p.reply(w, http.StatusOK, "")
	})
	mux.HandleFunc("PUT /stall", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stall *bool `json:"stall"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || req.Stall == nil {
			p.reply(w, http.StatusBadRequest, `want {"stall":true} or {"stall":false}`)
			return
		}
		p.Stall(*req.Stall)
		p.reply(w, http.StatusOK, "")
	})
	mux.HandleFunc("POST /cut", func(w http.ResponseWriter, r *http.Request) {
		p.Cut()
		p.reply(w, http.StatusOK, "")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.reply(w, http.StatusNotFound, "no such endpoint (GET or PUT /delay, PUT /stall, POST /cut)")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localHost(r.Host) {
			p.reply(w, http.StatusForbidden, "this control API answers to an IP address, localhost or a one-label name, not to the Host given")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// localHost reports a Host header no web page on another site can send
// through DNS rebinding, which needs a name of its own (with a dot).
func localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if net.ParseIP(host) != nil {
		return true
	}
	return host != "" && !strings.Contains(host, ".")
}

func (p *Proxy) reply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if msg != "" {
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	json.NewEncoder(w).Encode(State{Target: p.target, Delay: p.Delay().String(), Sent: p.Sent(), Stalled: p.Stalled(), Holding: p.Holding()})
}

// Get reads the state of the proxy whose control API is at base.
func Get(client *http.Client, base string) (State, error) {
	var st State
	resp, err := client.Get(base + "/delay")
	if err != nil {
		return st, fmt.Errorf("the delay proxy at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("the delay proxy at %s: %s", base, resp.Status)
	}
	return st, json.NewDecoder(io.LimitReader(resp.Body, 1<<10)).Decode(&st)
}

// Set sets the delay of the proxy whose control API is at base
// (http://host:port).
func Set(client *http.Client, base string, d time.Duration) error {
	return call(client, http.MethodPut, base, "/delay", fmt.Sprintf(`{"delay":%q}`, d.String()))
}

// SetStall stalls the proxy whose control API is at base, or ends its
// stall.
func SetStall(client *http.Client, base string, on bool) error {
	return call(client, http.MethodPut, base, "/stall", fmt.Sprintf(`{"stall":%t}`, on))
}

// CutAll closes every connection of the proxy whose control API is at
// base, dropping what a stall held back.
func CutAll(client *http.Client, base string) error {
	return call(client, http.MethodPost, base, "/cut", "")
}

func call(client *http.Client, method, base, path, body string) error {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the delay proxy at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("the delay proxy at %s: %s %s", base, resp.Status, b)
	}
	return nil
}
