// Package redisstore is a store.Backend on Redis (go-redis v9). Every instance
// of the redis variant shares it, which is why any instance can serve any user,
// and why Redis becomes the one thing that must not fail.
//
// Client builds a go-redis client whose timeouts make an outage cost
// milliseconds: go-redis's defaults (seconds of timeouts, retries with
// back-off, five dial attempts) would turn a stopped Redis into hanging users.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"statelab/servers/store"
)

// DefaultPrefix is the key prefix of session records.
const DefaultPrefix = "statelab:session:"

// Store is a store.Backend on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ store.Backend = (*Store)(nil)

// New returns a store keeping sessions under prefix (DefaultPrefix when empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// quiet drops go-redis's own log lines (one per failed dial during an
// outage): the lab reports outages itself, as 503s and in its own logs.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var setLogger sync.Once

// Client returns a go-redis client for addr where dialling, reading, writing
// and waiting for a pooled connection each give up after timeout, with one
// dial attempt and no command retries.
func Client(addr string, timeout time.Duration) *redis.Client {
	setLogger.Do(func() { redis.SetLogger(quiet{}) })
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
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
	})
}

// Unavailable wraps a go-redis error in store.ErrUnavailable; redis.Nil and
// nil are returned as they are.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return fmt.Errorf("%w: redis: %v", store.ErrUnavailable, err)
}

// Find returns the session data for id.
func (s *Store) Find(ctx context.Context, id string) ([]byte, bool, error) {
	data, err := s.rdb.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
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
		return Unavailable(s.rdb.Del(ctx, s.prefix+id).Err())
	}
	return Unavailable(s.rdb.Set(ctx, s.prefix+id, data, ttl).Err())
}

// Delete removes id.
func (s *Store) Delete(ctx context.Context, id string) error {
	return Unavailable(s.rdb.Del(ctx, s.prefix+id).Err())
}

// Stats scans the prefix and sums the sizes of keys and values. It is O(n)
// in the sessions held: fine for a lab's /stats, not for a hot path.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	var st store.Stats
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		n, err := s.rdb.StrLen(ctx, key).Result()
		if err != nil {
			return st, Unavailable(err)
		}
		if n == 0 {
			continue // expired between SCAN and STRLEN
		}
		st.Sessions++
		st.Bytes += int64(len(key)-len(s.prefix)) + n
	}
	if err := iter.Err(); err != nil {
		return st, Unavailable(err)
	}
	return st, nil
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
