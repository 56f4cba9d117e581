// Package redisstore is a store.Backend on Redis (go-redis v9). Every instance
// of the redis variant shares it, which is why any instance can serve any user,
// and why Redis becomes the one thing that must not fail.
//
// Client builds a go-redis client whose timeouts make an outage cost no
// more than its timeout: go-redis's defaults (seconds of timeouts, retries
// with back-off, five dial attempts) would turn a stopped Redis into
// hanging users.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"statelab/servers/store"
)

// DefaultPrefix is the key prefix of session records.
const DefaultPrefix = "statelab:session:"

// Store is a store.Backend on Redis. Besides each session's record (a
// string under prefix+id, which Redis expires), it keeps counters under
// MetaPrefix+prefix: an index of the ids by expiry, their sizes and the
// total, updated in the same script as the record, so that Stats costs the
// same whatever Redis holds.
type Store struct {
	rdb    redis.UniversalClient
	wait   time.Duration // WaitReplica's timeout; 0: no WAIT
	prefix string
	index  string // sorted set: id by expiry (unix ms)
	sizes  string // hash: id -> bytes of id and data
	total  string // string: the sum of sizes
}

var _ store.Backend = (*Store)(nil)

// MetaPrefix starts the keys of a Store's counters, so that they are
// never taken for records (see RecordSizes).
const MetaPrefix = "statelab-meta:"

// New returns a store keeping sessions under prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	meta := MetaPrefix + prefix
	return &Store{rdb: rdb, prefix: prefix, index: meta + "index", sizes: meta + "sizes", total: meta + "bytes"}
}

// WaitReplica makes every write of the store wait, with WAIT 1, until one
// replica has acknowledged it, for at most timeout; a write no replica
// acknowledged in time is an error (store.ErrUnavailable): the instance
// answers 503 and the user knows the write may not last. The write itself
// has happened on the primary, and stays there unless it fails over. rdb
// must be a single client (a *redis.Client, as Client and FailoverClient
// return): WAIT counts the writes of its own connection.
func (s *Store) WaitReplica(timeout time.Duration) *Store {
	s.wait = timeout
	return s
}

// quiet drops go-redis's own log lines (one per failed dial during an
// outage): the lab reports outages itself, as 503s and in its own logs.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var setLogger sync.Once

// Client returns a go-redis client for addr where dialling, reading, writing
// and waiting for a pooled connection each give up after timeout, with one
// dial attempt and no retries of go-redis's own (which would retry a
// timeout, doubling an outage). One retry is made, by retryBroken, of a
// command whose connection turned out broken.
func Client(addr string, timeout time.Duration) *redis.Client {
	o := options(timeout)
	o.Addrs = []string{addr}
	return hooked(redis.NewClient(o.Simple()))
}

// FailoverClient returns a client of the primary that the Sentinels at
// sentinels know as master, with Client's timeouts: go-redis asks a
// Sentinel for the primary's address, and follows it when Sentinel
// promotes a replica (+switch-master). While no primary answers, commands
// fail as against a stopped Redis.
func FailoverClient(master string, sentinels []string, timeout time.Duration) *redis.Client {
	o := options(timeout)
	o.MasterName, o.Addrs = master, sentinels
	return hooked(redis.NewFailoverClient(o.Failover()))
}

// options are the lab's settings of every Redis client it makes: one dial
// attempt, no retries of go-redis's own, and timeout for each dial, read,
// write and pool wait.
func options(timeout time.Duration) *redis.UniversalOptions {
	setLogger.Do(func() { redis.SetLogger(quiet{}) })
	return &redis.UniversalOptions{
		Protocol:              2,
		DisableIdentity:       true,
		DialTimeout:           timeout,
		DialerRetries:         1,
		DialerRetryTimeout:    time.Millisecond,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		MaxRetries:            -1,
		ContextTimeoutEnabled: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
}

func hooked(c *redis.Client) *redis.Client {
	c.AddHook(retryBroken{})
	return c
}

// retryBroken sends a command once more, on another connection, when the
// one it went out on turned out broken (closed or reset by the other end:
// a Redis restarted since the connection was pooled, or a proxy that cut
// it), never after a timeout: an outage stays as short as the timeout. The
// scripts are idempotent (they set a record and its counters from what
// they read), so a command Redis ran before the connection broke may run
// twice without changing the result.
type retryBroken struct{}

func (retryBroken) DialHook(next redis.DialHook) redis.DialHook { return next }

func (retryBroken) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if broken(err) && ctx.Err() == nil {
			cmd.SetErr(nil)
			err = next(ctx, cmd)
		}
		return err
	}
}

func (retryBroken) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// broken reports an error that says the connection was closed or reset,
// not that Redis was slow or refused.
func broken(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// Unavailable wraps a go-redis error in store.ErrUnavailable; redis.Nil and
// nil are returned as they are.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return fmt.Errorf("%w: redis: %v", store.ErrUnavailable, err)
}

// commitLua writes a record and keeps the counters with it.
const commitLua = `
local old = tonumber(redis.call('HGET', KEYS[3], ARGV[4]) or '0')
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
local size = string.len(ARGV[4]) + string.len(ARGV[1])
redis.call('HSET', KEYS[3], ARGV[4], size)
redis.call('INCRBY', KEYS[4], size - old)
return 1`

// The scripts keep the record and the counters together, one round trip
// each.
var (
	commitScript = redis.NewScript(commitLua)
	// refreshScript is commitScript for a record that still exists only.
	refreshScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end` + commitLua)
	deleteScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local old = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('DECRBY', KEYS[4], old)
return 1`)
	// statsScript first forgets up to ARGV[2] sessions whose expiry has
	// passed (Redis expired their records), so that its work is bounded.
	statsScript = redis.NewScript(`
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(gone) do
  local old = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  redis.call('HDEL', KEYS[2], id)
  redis.call('DECRBY', KEYS[3], old)
  redis.call('ZREM', KEYS[1], id)
end
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[3]) or '0')}`)
)

// Find returns the session data for id. A record Redis no longer holds
// before its expiry (evicted under maxmemory) leaves the counters here.
func (s *Store) Find(ctx context.Context, id string) ([]byte, bool, error) {
	data, err := s.rdb.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		if err := s.forget(ctx, id); err != nil {
			return nil, false, err
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, Unavailable(err)
	}
	return data, true, nil
}

// Commit stores data for id; Redis expires it at expiry.
func (s *Store) Commit(ctx context.Context, id string, data []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return s.Delete(ctx, id)
	}
	keys := []string{s.prefix + id, s.index, s.sizes, s.total}
	_, err := s.write(ctx, commitScript, keys, data, max(ttl.Milliseconds(), 1), expiry.UnixMilli(), id)
	return Unavailable(err)
}

// Refresh stores data for id until expiry, only while Redis holds it: in
// one script, so that a logout between the read and this write stays.
func (s *Store) Refresh(ctx context.Context, id string, data []byte, expiry time.Time) (bool, error) {
	ttl := time.Until(expiry)
	if ttl <= 0 {
		return false, nil
	}
	keys := []string{s.prefix + id, s.index, s.sizes, s.total}
	res, err := s.write(ctx, refreshScript, keys, data, max(ttl.Milliseconds(), 1), expiry.UnixMilli(), id)
	if err != nil {
		return false, Unavailable(err)
	}
	n, _ := res.(int64)
	return n == 1, nil
}

// Delete removes id.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.write(ctx, deleteScript, []string{s.prefix + id, s.index, s.sizes, s.total}, id)
	return Unavailable(err)
}

// conner is a client that can lend one connection (redis.Client).
type conner interface{ Conn() *redis.Conn }

// write runs a script that writes, and with WaitReplica, waits on the same
// connection until a replica has acknowledged it.
func (s *Store) write(ctx context.Context, script *redis.Script, keys []string, args ...any) (any, error) {
	if s.wait <= 0 {
		return script.Run(ctx, s.rdb, keys, args...).Result()
	}
	c, ok := s.rdb.(conner)
	if !ok {
		return nil, errors.New("WAIT needs a single Redis client")
	}
	conn := c.Conn()
	defer conn.Close()
	res, err := script.Run(ctx, conn, keys, args...).Result()
	if err != nil {
		return res, err
	}
	n, err := conn.Wait(ctx, 1, s.wait).Result()
	if err != nil {
		return res, err
	}
	if n < 1 {
		return res, fmt.Errorf("written on the primary, but no replica acknowledged it within %s (WAIT 1)", s.wait)
	}
	return res, nil
}

// forget takes id out of the counters, only when they still count it: a
// missed lookup of an id nobody stored (a forged cookie) costs a read.
func (s *Store) forget(ctx context.Context, id string) error {
	err := s.rdb.ZScore(ctx, s.index, id).Err()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return Unavailable(err)
	}
	return s.Delete(ctx, id)
}

// statsSweep bounds the expired sessions one Stats call forgets.
const statsSweep = 1000

// Stats reads the counters: sessions and their bytes, and the keys Redis
// has evicted since it started (INFO stats: every key, not only this
// store's).
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	res, err := statsScript.Run(ctx, s.rdb, []string{s.index, s.sizes, s.total}, time.Now().UnixMilli(), statsSweep).Int64Slice()
	if err != nil {
		return store.Stats{}, Unavailable(err)
	}
	st := store.Stats{}
	if len(res) == 2 {
		st.Sessions, st.Bytes = res[0], res[1]
	}
	info, err := s.rdb.Info(ctx, "stats").Result()
	if err != nil {
		return st, Unavailable(err)
	}
	st.Evicted = infoField(info, "evicted_keys")
	return st, nil
}

// infoField reads a number from an INFO section ("evicted_keys:12"); 0
// when it has none.
func infoField(info, name string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// RecordSizes counts a lab's session and denylist records, as Sizes does,
// leaving the stores' counters out.
func RecordSizes(ctx context.Context, rdb redis.UniversalClient) (keys, bytes int64, err error) {
	return Sizes(ctx, rdb, "statelab:*")
}

// ResetKey holds when the lab last reset Redis (emptied it, and restarted
// the instances): outside the "statelab:" keys the lab counts, so its
// figures do not see it.
const ResetKey = "lab:reset-at"

// MarkReset records t as the lab's last reset.
func MarkReset(ctx context.Context, rdb redis.UniversalClient, t time.Time) error {
	return Unavailable(rdb.Set(ctx, ResetKey, t.UTC().Format(time.RFC3339), 0).Err())
}

// ResetAt returns the lab's last reset, when Redis has one recorded (a
// Redis restarted without persistence has none).
func ResetAt(ctx context.Context, rdb redis.UniversalClient) (time.Time, bool) {
	s, err := rdb.Get(ctx, ResetKey).Result()
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// Sizes counts the keys that match a pattern and the bytes of their names
// and string values: what a Redis holds, for the lab's figures. It is O(n)
// in the keys.
func Sizes(ctx context.Context, rdb redis.UniversalClient, match string) (keys, bytes int64, err error) {
	iter := rdb.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		n, err := rdb.StrLen(ctx, iter.Val()).Result()
		if err != nil {
			return 0, 0, Unavailable(err)
		}
		keys++
		bytes += int64(len(iter.Val())) + n
	}
	return keys, bytes, Unavailable(iter.Err())
}
