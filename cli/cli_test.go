package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"statelab/cli"
	"statelab/internal/poll"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(vars map[string]string) (cli.Env, *syncBuf, *syncBuf) {
	out, errb := &syncBuf{}, &syncBuf{}
	return cli.Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: errb, Getenv: func(k string) string { return vars[k] }}, out, errb
}

func TestUsageErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		code int
		msg  string
	}{
		{"no command", nil, nil, 2, "Usage: lab <command>"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"help", []string{"help"}, nil, 0, "Commands:"},
		{"server help", []string{"server", "-h"}, nil, 0, ""},
		{"unknown flag", []string{"server", "--bogus"}, nil, 2, "flag provided but not defined: -bogus"},
		{"no variant", []string{"server"}, nil, 2, "--variant is required"},
		{"bad variant", []string{"server", "--variant", "biscuit"}, nil, 2, `unknown variant "biscuit"`},
		{"bad env value", []string{"server", "--variant", "jwt"}, map[string]string{"STATELAB_REDIS_TIMEOUT": "soon"}, 2, `STATELAB_REDIS_TIMEOUT="soon": invalid value for --redis-timeout`},
		{"short key", []string{"server", "--variant", "jwt", "--jwt-keys", "k1:short"}, nil, 2, "--jwt-keys (STATELAB_JWT_KEYS): jwt key \"k1\": its secret is 5 bytes: want at least 32"},
		{"16-byte key from the environment", []string{"server", "--variant", "jwt"}, map[string]string{"STATELAB_JWT_KEYS": "k1:0123456789abcdef"}, 2, "--jwt-keys (STATELAB_JWT_KEYS): jwt key \"k1\": its secret is 16 bytes: want at least 32"},
		{"delay: a duration it cannot take", []string{"delay", "--set", "soon"}, nil, 2, `--set "soon": want a duration from 0 to 10s`},
		{"delay: no target", []string{"delay"}, nil, 2, "--to is required"},
		{"delay: a negative start", []string{"delay", "--to", "127.0.0.1:1", "--delay", "-1s"}, nil, 2, "--delay -1s: want 0 to 10s"},
		{"answers without predict", []string{"run", "sticky", "--answers", "x.txt"}, nil, 2, "--answers is for --predict"},
		{"control without up", []string{"run", "sticky", "--control", "/tmp/x.sock"}, nil, 2, "--control is for --up"},
		{"up with docker", []string{"run", "sticky", "--up", "--runtime", "docker"}, nil, 2, "--up runs on the local lab up"},
		{"a scenario file that is not there", []string{"run", "../examples/missing.yaml"}, nil, 2, "no such file"},
		{"short cookie key", []string{"server", "--variant", "memory", "--cookie-keys", "0123456789abcdef0123"}, nil, 2, "--cookie-keys (STATELAB_COOKIE_KEYS): cookie key \"012...\" is 20 bytes: want at least 32"},
		{"unknown active key", []string{"server", "--variant", "jwt", "--jwt-keys", "k1:0123456789abcdef0123456789abcdef", "--jwt-active", "k2"}, nil, 2, `active jwt key "k2"`},
		{"stray argument", []string{"server", "--variant", "jwt", "extra"}, nil, 2, `unexpected argument "extra"`},
		{"port in use", []string{"server", "--variant", "jwt", "--addr", busy.Addr().String()}, nil, 2, "address already in use"},
		{"lb without pool", []string{"lb"}, nil, 2, "no pool"},
		{"lb bad pool", []string{"lb", "--pool", "memory=:8081"}, nil, 2, "want NAME=LISTEN=BACKEND"},
		{"lb bad policy", []string{"lb", "--pool", "p=127.0.0.1:0=a:1", "--policy", "random"}, nil, 2, `unknown policy "random"`},
		{"lb open admin without token", []string{"lb", "--pool", "p=127.0.0.1:0=a:1", "--admin", ":0"}, nil, 2, "set STATELAB_ADMIN_TOKEN"},
		{"lb pool port in use", []string{"lb", "--pool", "p=" + busy.Addr().String() + "=a:1", "--admin", ""}, nil, 2, "address already in use"},
		{"lb admin port in use", []string{"lb", "--pool", "p=127.0.0.1:0=a:1", "--admin", busy.Addr().String()}, nil, 2, "address already in use"},
		{"lb pools from env", []string{"lb"}, map[string]string{"STATELAB_POOL": "p=127.0.0.1:0=a:1 q=bad"}, 2, `pool "q=bad"`},
		{"healthcheck refused", []string{"healthcheck", "http://" + busy.Addr().String() + "/nothing"}, nil, 1, "lab healthcheck:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, out, errb := env(tc.vars)
			if tc.name == "healthcheck refused" {
				busy.Close() // now nothing listens there
			}
			if code := cli.Main(context.Background(), tc.args, e); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String()+out.String(), tc.msg) {
				t.Errorf("output lacks %q:\n%s%s", tc.msg, out.String(), errb.String())
			}
		})
	}
}

// TestServerFromEnv starts `lab server` configured only from the environment,
// checks that it serves, then stops it as SIGTERM would.
func TestServerFromEnv(t *testing.T) {
	e, _, errb := env(map[string]string{
		"STATELAB_VARIANT": "jwt",
		"STATELAB_NAME":    "jwt-env",
		"STATELAB_ADDR":    "127.0.0.1:0",
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- cli.Main(ctx, []string{"server"}, e) }()

	addrRe := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	var addr string
	err := poll.Until(context.Background(), 5*time.Second, 5*time.Millisecond, func(context.Context) error {
		m := addrRe.FindStringSubmatch(errb.String())
		if m == nil {
			return errors.New("the server did not log its address")
		}
		addr = m[1]
		return nil
	})
	if err != nil {
		t.Fatalf("%v:\n%s", err, errb.String())
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Statelab-Instance"); got != "jwt-env" {
		t.Errorf("instance %q, want jwt-env", got)
	}
	if !strings.Contains(errb.String(), "BUILT-IN DEMO JWT KEY") {
		t.Errorf("no warning about the demo key in:\n%s", errb.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after shutdown; stderr:\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after its context ended")
	}
}
