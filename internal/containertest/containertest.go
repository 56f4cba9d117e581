// Package containertest runs the lab's own images as containers in tests,
// with testcontainers-go. No image is ever pulled: the images must be here
// (scripts/images.sh builds them without a registry). Outside CI a test is
// skipped when Docker or an image is missing; under CI=true it fails.
package containertest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"statelab/internal/redistest"
)

// Images, and the variables that name them (as compose.yaml reads them).
const (
	LabImageVar   = "STATELAB_IMAGE"
	RedisImageVar = "STATELAB_REDIS_IMAGE"
	LabImage      = "statelab:0.1"
	RedisImage    = "redis:7"
)

func init() {
	// testcontainers-go's reaper image cannot be pulled here: tests end what
	// they start themselves (CleanupContainer). And this machine looks to it
	// like a container, so without the override it would dial the default
	// gateway to reach mapped ports.
	for k, v := range map[string]string{"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
}

// Image returns the image named by envVar (or def), once it has checked
// that Docker answers and that the image is here.
func Image(tb testing.TB, envVar, def string) string {
	tb.Helper()
	img := os.Getenv(envVar)
	if img == "" {
		img = def
	}
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		redistest.Absent(tb, fmt.Sprintf("no Docker client: %v", err))
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		redistest.Absent(tb, fmt.Sprintf("Docker is not reachable: %v", err))
	}
	if _, err := cli.ImageInspect(ctx, img); err != nil {
		redistest.Absent(tb, fmt.Sprintf("image %s is not here (set %s, or run scripts/images.sh, which builds it without a registry): %v", img, envVar, err))
	}
	return img
}

// Network creates a network for the test, removed when it ends.
func Network(tb testing.TB) *testcontainers.DockerNetwork {
	tb.Helper()
	nw, err := network.New(context.Background())
	if err != nil {
		tb.Fatalf("create a network: %v", err)
	}
	tb.Cleanup(func() { _ = nw.Remove(context.Background()) })
	return nw
}

// Redis starts a Redis container, reachable as "redis" on nw (when given),
// and returns it with its address from the host.
func Redis(tb testing.TB, nw *testcontainers.DockerNetwork) (*testcontainers.DockerContainer, string) {
	tb.Helper()
	img := Image(tb, RedisImageVar, RedisImage)
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts("6379/tcp"),
		testcontainers.WithCmdArgs("--save", "", "--appendonly", "no"),
		// The image has no shell: wait for its log line, not an exec.
		testcontainers.WithWaitStrategy(wait.ForLog("Ready to accept connections").WithStartupTimeout(30 * time.Second)),
	}
	if nw != nil {
		opts = append(opts, network.WithNetwork([]string{"redis"}, nw))
	}
	ctr, err := testcontainers.Run(context.Background(), img, opts...)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("start redis: %v", err)
	}
	addr, err := ctr.PortEndpoint(context.Background(), "6379/tcp", "")
	if err != nil {
		tb.Fatal(err)
	}
	return ctr, addr
}

// Server starts an instance of the lab image with env (STATELAB_ settings)
// on nw, and returns it with its base URL from the host.
func Server(tb testing.TB, nw *testcontainers.DockerNetwork, alias string, env map[string]string) (*testcontainers.DockerContainer, string) {
	tb.Helper()
	img := Image(tb, LabImageVar, LabImage)
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/healthz").WithPort("8080/tcp").WithStartupTimeout(30 * time.Second)),
	}
	if nw != nil {
		opts = append(opts, network.WithNetwork([]string{alias}, nw))
	}
	ctr, err := testcontainers.Run(context.Background(), img, opts...)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("start %s: %v", alias, err)
	}
	return ctr, BaseURL(tb, ctr)
}

// BaseURL is the container's port 8080 as the host reaches it (it changes
// when the container is started again).
func BaseURL(tb testing.TB, ctr *testcontainers.DockerContainer) string {
	tb.Helper()
	ep, err := ctr.PortEndpoint(context.Background(), "8080/tcp", "http")
	if err != nil {
		tb.Fatal(err)
	}
	return ep
}

// Kill sends SIGKILL to the container, as `docker kill` does.
func Kill(tb testing.TB, ctr *testcontainers.DockerContainer) {
	tb.Helper()
	cli, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		tb.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(context.Background(), ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		tb.Fatalf("kill: %v", err)
	}
}
