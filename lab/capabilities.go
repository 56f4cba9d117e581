package lab

import (
	"context"
	"fmt"
	"time"

	"statelab"
)

// What only some runtimes can do. A scenario names the capabilities it
// needs (scenarios.Scenario.Needs); on a runtime that lacks one, it is
// skipped, and the report says which runtime lacks what.

// KeyReloader can put keys in force on a running instance.
type KeyReloader interface {
	// SetKeys makes an instance put the keys given in force over its
	// configured ones, without a restart (its keys file, re-read on
	// SIGHUP). No keys bring back the configured ones. It returns once the
	// instance has reloaded.
	SetKeys(ctx context.Context, name string, keys statelab.Keys) error
}

// Crasher can arm an instance to crash in the middle of a write.
type Crasher interface {
	// CrashAfterNextWrite arms an instance to die, as SIGKILL would, after
	// the next cart change it applies and before it answers (lab server:
	// SIGUSR1). It returns once the instance says it is armed.
	CrashAfterNextWrite(ctx context.Context, name string) error
}

// RedisSlower can delay what Redis answers the instances.
type RedisSlower interface {
	// SetRedisLatency adds d to every answer Redis sends the instances (a
	// delay proxy between them), from now on. Reset sets it back to 0.
	SetRedisLatency(ctx context.Context, d time.Duration) error
}

// RedisMeter can count what goes to Redis and what it holds.
type RedisMeter interface {
	// RedisSent counts the bytes the instances have sent Redis.
	RedisSent(ctx context.Context) (int64, error)
	// RedisStats counts Redis's keys and the bytes their values take.
	RedisStats(ctx context.Context) (keys, bytes int64, err error)
}

// Replicator can run a replicated Redis beside the lab's own: a primary,
// one replica and Sentinels.
type Replicator interface {
	// CanReplicate says why the runtime cannot now (no redis-server to run
	// a replica and Sentinels with), or nil.
	CanReplicate() error
	// Replicate starts a primary, a replica whose link from the primary
	// adds link to all it carries, and Sentinels that watch the primary,
	// and waits until the replica has caught up and the Sentinels know
	// each other. It replaces a replication started before; Reset and
	// Close end it. Instances use it when started with Settings.Sentinels
	// set to its Sentinels.
	Replicate(ctx context.Context, link time.Duration) (Replication, error)
}

// Replication is a replicated Redis a Replicator started.
type Replication interface {
	// Describe says what runs, in a line.
	Describe() string
	// Sentinels are the Sentinels' addresses as the instances reach them,
	// comma-separated (Settings.Sentinels).
	Sentinels() string
	// PrimaryAddr and ReplicaAddr are the two Redis servers' addresses,
	// as the Sentinels give them.
	PrimaryAddr() string
	ReplicaAddr() string
	// Primary asks the Sentinels where the primary is now.
	Primary(ctx context.Context) (string, error)
	// Offsets are Redis's own replication offsets: the bytes the primary
	// has sent its replica, and the bytes the replica has applied.
	Offsets(ctx context.Context) (primary, replica int64, err error)
	// Stall, on, stops the link from carrying anything to the replica,
	// holding it back; off, lets it through.
	Stall(ctx context.Context, on bool) error
	// KillPrimary ends the primary with SIGKILL; what the link held back
	// dies with it.
	KillPrimary(ctx context.Context) error
}

// Capability names one of them, in the words a report uses: "the local
// runtime cannot reload keys without a restart".
type Capability string

// The capabilities.
const (
	ReloadKeys Capability = "reload keys without a restart"
	Crash      Capability = "crash an instance in the middle of a write"
	SlowRedis  Capability = "delay Redis's answers"
	MeterRedis Capability = "count what Redis receives and holds"
	Replicas   Capability = "run Redis with a replica and Sentinels"
)

// Has reports whether rt can do c.
func Has(rt Runtime, c Capability) bool {
	var ok bool
	switch c {
	case ReloadKeys:
		_, ok = rt.(KeyReloader)
	case Crash:
		_, ok = rt.(Crasher)
	case SlowRedis:
		_, ok = rt.(RedisSlower)
	case MeterRedis:
		_, ok = rt.(RedisMeter)
	case Replicas:
		var r Replicator
		r, ok = rt.(Replicator)
		ok = ok && r.CanReplicate() == nil
	}
	return ok
}

// Lacks returns an error naming the first of cs that rt cannot do, or nil.
func Lacks(rt Runtime, cs ...Capability) error {
	for _, c := range cs {
		if !Has(rt, c) {
			e := MissingError{Runtime: rt.Endpoints().About, Capability: c}
			if r, ok := rt.(Replicator); ok && c == Replicas {
				e.Why = r.CanReplicate()
			}
			return e
		}
	}
	return nil
}

// MissingError says which runtime lacks which capability, and why when
// the runtime says.
type MissingError struct {
	Runtime    string
	Capability Capability
	Why        error
}

func (e MissingError) Error() string {
	if e.Why != nil {
		return fmt.Sprintf("this runtime (%s) cannot %s: %v", e.Runtime, e.Capability, e.Why)
	}
	return fmt.Sprintf("this runtime (%s) cannot %s", e.Runtime, e.Capability)
}

// SetKeys puts keys in force on an instance, if rt can.
func SetKeys(ctx context.Context, rt Runtime, name string, keys statelab.Keys) error {
	k, ok := rt.(KeyReloader)
	if !ok {
		return Lacks(rt, ReloadKeys)
	}
	return k.SetKeys(ctx, name, keys)
}

// CrashAfterNextWrite arms an instance to crash, if rt can.
func CrashAfterNextWrite(ctx context.Context, rt Runtime, name string) error {
	c, ok := rt.(Crasher)
	if !ok {
		return Lacks(rt, Crash)
	}
	return c.CrashAfterNextWrite(ctx, name)
}

// Replicate starts a replicated Redis, if rt can.
func Replicate(ctx context.Context, rt Runtime, link time.Duration) (Replication, error) {
	if err := Lacks(rt, Replicas); err != nil {
		return nil, err
	}
	return rt.(Replicator).Replicate(ctx, link)
}

// SetRedisLatency delays Redis's answers by d, if rt can.
func SetRedisLatency(ctx context.Context, rt Runtime, d time.Duration) error {
	s, ok := rt.(RedisSlower)
	if !ok {
		return Lacks(rt, SlowRedis)
	}
	return s.SetRedisLatency(ctx, d)
}

// RedisSent counts the bytes the instances sent Redis, if rt can.
func RedisSent(ctx context.Context, rt Runtime) (int64, error) {
	m, ok := rt.(RedisMeter)
	if !ok {
		return 0, Lacks(rt, MeterRedis)
	}
	return m.RedisSent(ctx)
}

// RedisStats counts Redis's keys and value bytes, if rt can.
func RedisStats(ctx context.Context, rt Runtime) (keys, bytes int64, err error) {
	m, ok := rt.(RedisMeter)
	if !ok {
		return 0, 0, Lacks(rt, MeterRedis)
	}
	return m.RedisStats(ctx)
}

// Complete is a runtime with every capability, and a Tuner: what the
// local, in-process and compose runtimes are.
type Complete interface {
	Runtime
	Tuner
	KeyReloader
	Crasher
	RedisSlower
	RedisMeter
}
