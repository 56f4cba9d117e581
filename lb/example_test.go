package lb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"time"

	"statelab/lb/api"

	"statelab"
	"statelab/lb"
)

// A pool of two backends, round-robin: each request goes to the next one,
// and the response names the backend that answered.
func Example() {
	a, b := named("a"), named("b")
	defer a.Close()
	defer b.Close()
	bl, err := lb.New(lb.Config{}, lb.PoolSpec{Name: "shop", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{
		{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")},
		{Name: "b", Addr: strings.TrimPrefix(b.URL, "http://")},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := bl.Open(); err != nil {
		fmt.Println(err)
		return
	}
	go bl.Serve()
	defer bl.Shutdown(context.Background())

	for i := 0; i < 4; i++ {
		resp, err := http.Get("http://" + bl.Pool("shop").Addr() + "/")
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Header.Get(statelab.BackendHeader))
	}
	// Output:
	// b
	// a
	// b
	// a
}

// The admin API switches a pool to sticky routing while it runs: the first
// answer pins the user with a cookie that names the backend, and every
// later request goes there.
func ExampleClient_SetPolicy() {
	a, b := named("a"), named("b")
	defer a.Close()
	defer b.Close()
	bl, _ := lb.New(lb.Config{}, lb.PoolSpec{Name: "shop", Listen: "127.0.0.1:0", Backends: []lb.BackendSpec{
		{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")},
		{Name: "b", Addr: strings.TrimPrefix(b.URL, "http://")},
	}})
	if err := bl.Open(); err != nil {
		fmt.Println(err)
		return
	}
	go bl.Serve()
	defer bl.Shutdown(context.Background())
	admin := httptest.NewServer(mustAdmin(bl, lb.AdminOptions{}))
	defer admin.Close()

	client := &api.Client{Base: admin.URL}
	if err := client.SetPolicy(context.Background(), "shop", api.Sticky, false); err != nil {
		fmt.Println(err)
		return
	}
	jar, _ := cookiejar.New(nil)
	user := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := user.Get("http://" + bl.Pool("shop").Addr() + "/")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(string(body) + " " + resp.Header.Get("Set-Cookie")))
	}
	// Output:
	// b statelab_backend=b; Path=/; HttpOnly; SameSite=Lax
	// b
	// b
}

// named is a backend that answers with its name.
func named(name string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	}))
}
