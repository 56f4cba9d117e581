package servers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"statelab"
	"statelab/internal/poll"
	"statelab/servers"
)

// TestLive: GET /live is a WebSocket that sends the session at once and
// then again and again; memory and redis read it anew from where they keep
// it, jwt and cookie can only repeat what the handshake carried. Without a
// session it is a 401; from another origin's page it is refused; when the
// instance dies, the connection ends with it.
func TestLive(t *testing.T) {
	cfgs := configs(t)
	for _, v := range statelab.Variants {
		t.Run(string(v), func(t *testing.T) {
			cfg := cfgs[v]
			cfg.Name, cfg.LiveEvery = string(v)+"-1", 20*time.Millisecond
			srv, err := servers.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			t.Cleanup(func() { ts.Close(); srv.Close() })
			u := newUser(t)
			want(t, "login", u.login(ts.URL, "lia"), 200)
			header := http.Header{}
			for _, c := range u.cookies(ts.URL) {
				header.Add("Cookie", c.Name+"="+c.Value)
			}
			if u.token != "" {
				header.Set("Authorization", "Bearer "+u.token)
			}
			wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/live"
			if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
				t.Fatalf("no credential: %v, %v; want a 401", resp, err)
			}
			foreign := header.Clone()
			foreign.Set("Origin", "http://elsewhere.example")
			if _, resp, err := websocket.DefaultDialer.Dial(wsURL, foreign); err == nil || resp == nil || resp.StatusCode != 403 {
				t.Fatalf("another origin: %v, %v; want a 403", resp, err)
			}
			c, resp, err := websocket.DefaultDialer.Dial(wsURL, header)
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			if got := resp.Header.Get(statelab.InstanceHeader); got != cfg.Name {
				t.Errorf("the 101 names instance %q, want %q: the handler's headers must go with the upgrade", got, cfg.Name)
			}
			defer c.Close()
			var b statelab.Body
			if err := c.ReadJSON(&b); err != nil || b.User != "lia" || len(b.Cart) != 0 || b.Instance != cfg.Name {
				t.Fatalf("first message %+v, %v", b, err)
			}
			want(t, "add", u.do("POST", ts.URL+"/cart", map[string]any{"item": "plum", "qty": 1}), 200)
			sees := v == statelab.Memory || v == statelab.Redis
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if err := c.ReadJSON(&b); err != nil {
					t.Fatal(err)
				}
				if len(b.Cart) == 1 {
					break
				}
			}
			if got := len(b.Cart) == 1; got != sees {
				t.Fatalf("the pushed cart shows the change: %v, want %v (%+v)", got, sees, b)
			}
			srv.Kill()
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				if err := c.ReadJSON(&b); err != nil {
					if strings.Contains(err.Error(), "timeout") {
						t.Fatal("the connection outlived its instance")
					}
					break
				}
			}
		})
	}
}

// TestLiveBounded: past MaxLive open connections, another is a 503.
func TestLiveBounded(t *testing.T) {
	srv, err := servers.New(servers.Config{Variant: statelab.JWT, Name: "jwt-1", MaxLive: 2})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "max"), 200)
	header := http.Header{"Authorization": {"Bearer " + u.token}}
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/live"
	for i := 0; i < 2; i++ {
		c, _, err := websocket.DefaultDialer.Dial(wsURL, header)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer c.Close()
		var b statelab.Body
		if err := c.ReadJSON(&b); err != nil {
			t.Fatal(err)
		}
	}
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, header); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("a third connection: %v, %v; want a 503", resp, err)
	}
}

// TestLiveHostile: GET /live without a WebSocket handshake is a 400, and a
// client that sends more than the connection takes (1 KiB a message) is cut
// off, its slot freed.
func TestLiveHostile(t *testing.T) {
	srv, err := servers.New(servers.Config{Variant: statelab.JWT, Name: "jwt-1", MaxLive: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	u := newUser(t)
	want(t, "login", u.login(ts.URL, "eve"), 200)
	if r := u.do("GET", ts.URL+"/live", nil); r.status != 400 {
		t.Fatalf("GET /live without a handshake: %d, want 400", r.status)
	}
	header := http.Header{"Authorization": {"Bearer " + u.token}}
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/live"
	c, _, err := websocket.DefaultDialer.Dial(wsURL, header)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 2<<10))); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("a client that sent 2 KiB is still connected")
			}
			break
		}
	}
	// The one slot is free again: a new connection is taken.
	err = poll.Until(context.Background(), 3*time.Second, 20*time.Millisecond, func(context.Context) error {
		c2, _, err := websocket.DefaultDialer.Dial(wsURL, header)
		if err != nil {
			return err
		}
		return c2.Close()
	})
	if err != nil {
		t.Fatalf("the slot of the cut-off client: %v", err)
	}
}
