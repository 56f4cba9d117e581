// Package failover runs a replicated Redis on loopback, as real
// redis-server processes: a primary, one replica that replicates from it
// through a delay proxy (the replication link, whose latency and stalls
// the lab sets), and three Sentinels that watch the primary and promote
// the replica when it dies. It is what the redis-failover scenario stands
// on in the local lab, and what its tests start.
package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"statelab/internal/child"
	"statelab/internal/delay"
	"statelab/internal/parallel"
	"statelab/internal/poll"
	"statelab/internal/redisserver"
)

// Master is the name the Sentinels know the primary by.
const Master = "statelab"

// Sentinels is how many Sentinels watch the primary; Quorum of them must
// agree that it is down.
const (
	Sentinels = 3
	Quorum    = 2
)

// DownAfter is how long a Sentinel waits for the primary to answer before
// it thinks it down: Sentinel's down-after-milliseconds.
const DownAfter = time.Second

// Options configure Start.
type Options struct {
	// Link is the latency the replication link adds to what the primary
	// sends the replica.
	Link time.Duration
	// DownAfter is Sentinel's down-after-milliseconds. Default DownAfter.
	DownAfter time.Duration
}

// Set is a primary, its replica, the link between them and the Sentinels.
type Set struct {
	primary, replica *redisserver.Server
	link             *delay.Proxy
	sentinels        []*sentinel
	dir              string
}

type sentinel struct {
	proc child.Process
	addr string
}

// ErrNotFound is returned by Start when no redis-server is on PATH.
var ErrNotFound = redisserver.ErrNotFound

// Start starts the set and waits until the replica has caught up with the
// primary and every Sentinel knows the replica and the other Sentinels.
// On error, everything already started is ended.
func Start(ctx context.Context, opts Options) (_ *Set, err error) {
	if opts.DownAfter <= 0 {
		opts.DownAfter = DownAfter
	}
	if opts.Link < 0 || opts.Link > delay.MaxDelay {
		return nil, fmt.Errorf("replication link of %s: want 0 to %s", opts.Link, delay.MaxDelay)
	}
	s := &Set{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.primary, err = redisserver.Start(ctx, redisserver.Options{}); err != nil {
		return nil, fmt.Errorf("the primary: %w", err)
	}
	if s.link, err = delay.Listen("127.0.0.1:0", s.primary.Addr); err != nil {
		return nil, fmt.Errorf("the replication link: %w", err)
	}
	if err := s.link.SetDelay(opts.Link); err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(s.link.Addr())
	if s.replica, err = redisserver.Start(ctx, redisserver.Options{Args: []string{"--replicaof", host, port}}); err != nil {
		return nil, fmt.Errorf("the replica: %w", err)
	}
	if err := poll.Until(ctx, 30*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		return ReplicaReady(ctx, s.replica.Addr)
	}); err != nil {
		return nil, fmt.Errorf("the replica never synchronised with the primary: %w", err)
	}
	if s.dir, err = os.MkdirTemp("", "statelab-sentinel-"); err != nil {
		return nil, err
	}
	if err := s.startSentinels(ctx, opts.DownAfter); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) startSentinels(ctx context.Context, downAfter time.Duration) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return ErrNotFound
	}
	_, pport, _ := net.SplitHostPort(s.primary.Addr)
	for i := range Sentinels {
		port, err := redisserver.FreePort()
		if err != nil {
			return err
		}
		conf := filepath.Join(s.dir, fmt.Sprintf("sentinel-%d.conf", i+1))
		text := SentinelConf(port, "127.0.0.1", "127.0.0.1", pport, s.dir, downAfter)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return err
		}
		sn := &sentinel{proc: child.Process{Name: fmt.Sprintf("sentinel-%d", i+1)}, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
		if err := sn.proc.Start(bin, []string{conf, "--sentinel"}, nil, nil); err != nil {
			return fmt.Errorf("start a Sentinel: %w", err)
		}
		s.sentinels = append(s.sentinels, sn)
	}
	return parallel.Do(s.sentinels, func(sn *sentinel) error {
		err := sn.proc.WaitReady(ctx, 30*time.Second, func(ctx context.Context) error { return SentinelReady(ctx, sn.addr) })
		if err != nil {
			return fmt.Errorf("%s on %s: %w", sn.proc.Name, sn.addr, err)
		}
		return nil
	})
}

// SentinelConf is the configuration of a Sentinel that listens on bind:port
// and watches the primary at host:port, keeping its state in dir.
func SentinelConf(port int, bind, host, pport, dir string, downAfter time.Duration) string {
	if downAfter <= 0 {
		downAfter = DownAfter
	}
	return strings.Join([]string{
		"port " + strconv.Itoa(port),
		"bind " + bind,
		"protected-mode no",
		"daemonize no",
		"loglevel warning",
		"dir " + dir,
		fmt.Sprintf("sentinel monitor %s %s %s %d", Master, host, pport, Quorum),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", Master, downAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s 10000", Master),
		fmt.Sprintf("sentinel parallel-syncs %s 1", Master),
	}, "\n") + "\n"
}

// SentinelReady checks that the Sentinel at addr knows the replica and
// every other Sentinel: only then can it take part in a failover.
func SentinelReady(ctx context.Context, addr string) error {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer c.Close()
	m, err := c.Master(ctx, Master).Result()
	if err != nil {
		return err
	}
	if m["num-slaves"] != "1" || m["num-other-sentinels"] != strconv.Itoa(Sentinels-1) {
		return fmt.Errorf("it knows %s replica(s) and %s other Sentinel(s)", m["num-slaves"], m["num-other-sentinels"])
	}
	return nil
}

// ReplicaReady checks that the replica at addr is linked to its primary.
func ReplicaReady(ctx context.Context, addr string) error {
	info, err := infoOf(ctx, addr)
	if err != nil {
		return err
	}
	if info["master_link_status"] != "up" {
		return fmt.Errorf("the replica's link to the primary is %q", info["master_link_status"])
	}
	return nil
}

// SentinelAddrs are the Sentinels' addresses.
func (s *Set) SentinelAddrs() []string {
	out := make([]string, len(s.sentinels))
	for i, sn := range s.sentinels {
		out[i] = sn.addr
	}
	return out
}

// PrimaryAddr and ReplicaAddr are where the primary and the replica
// listen; the replica's link to the primary goes through LinkAddr.
func (s *Set) PrimaryAddr() string { return s.primary.Addr }
func (s *Set) ReplicaAddr() string { return s.replica.Addr }
func (s *Set) LinkAddr() string    { return s.link.Addr() }

// Link is the latency the replication link adds.
func (s *Set) Link() time.Duration { return s.link.Delay() }

// Version is the redis-server version the set runs.
func (s *Set) Version() string { return s.primary.Version }

// Primary is the address the Sentinels give for the primary now: the
// first Sentinel that answers.
func (s *Set) Primary(ctx context.Context) (string, error) { return PrimaryOf(ctx, s.SentinelAddrs()) }

// PrimaryOf asks the Sentinels at addrs, in turn, where the primary is.
func PrimaryOf(ctx context.Context, addrs []string) (string, error) {
	var errs []error
	for _, a := range addrs {
		c := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: time.Second})
		addr, err := c.GetMasterAddrByName(ctx, Master).Result()
		c.Close()
		if err == nil && len(addr) == 2 {
			return net.JoinHostPort(addr[0], addr[1]), nil
		}
		errs = append(errs, fmt.Errorf("%s: %v", a, err))
	}
	return "", fmt.Errorf("no Sentinel said where the primary is: %w", errors.Join(errs...))
}

// Offsets are the primary's replication offset (the bytes of writes it has
// sent its replicas, master_repl_offset) and the replica's (the bytes of
// them it has applied, slave_repl_offset; once promoted, its own
// master_repl_offset).
func (s *Set) Offsets(ctx context.Context) (primary, replica int64, err error) {
	return OffsetsOf(ctx, s.primary.Addr, s.replica.Addr)
}

// OffsetsOf reads the replication offsets of the primary and the replica
// at these addresses (see Set.Offsets).
func OffsetsOf(ctx context.Context, primaryAddr, replicaAddr string) (primary, replica int64, err error) {
	p, err := infoOf(ctx, primaryAddr)
	if err != nil {
		return 0, 0, fmt.Errorf("the primary: %w", err)
	}
	r, err := infoOf(ctx, replicaAddr)
	if err != nil {
		return 0, 0, fmt.Errorf("the replica: %w", err)
	}
	primary, _ = strconv.ParseInt(p["master_repl_offset"], 10, 64)
	key := "slave_repl_offset"
	if r["role"] == "master" {
		key = "master_repl_offset"
	}
	replica, _ = strconv.ParseInt(r[key], 10, 64)
	return primary, replica, nil
}

// Stall holds back, on, everything the primary sends the replica; off, lets
// it through. See delay.Proxy.Stall.
func (s *Set) Stall(on bool) { s.link.Stall(on) }

// KillPrimary ends the primary with SIGKILL, and the replication link with
// it: what the link held back is never delivered.
func (s *Set) KillPrimary() error {
	err := s.primary.Kill()
	s.link.Cut()
	s.link.Hold(true)
	return err
}

// Close ends every process of the set and removes its files.
func (s *Set) Close() error {
	var errs []error
	for _, sn := range s.sentinels {
		if err := sn.proc.End(syscall.SIGKILL); err != nil {
			errs = append(errs, err)
		}
	}
	if s.link != nil {
		s.link.Close()
	}
	for _, r := range []*redisserver.Server{s.replica, s.primary} {
		if r != nil {
			if err := r.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	return errors.Join(errs...)
}

// infoOf reads INFO replication of the Redis at addr, as name: value.
func infoOf(ctx context.Context, addr string) (map[string]string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	text, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}
