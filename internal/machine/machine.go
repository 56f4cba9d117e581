// Package machine measures how busy this machine is, in the two ways the
// lab's timing depends on: how long Redis takes to answer a PING, and how
// late a goroutine that sleeps wakes up (the scheduling delay every process
// on a crowded machine suffers). Measure takes one reading, for the
// calibration before a run; a Watch keeps reading while a scenario runs.
package machine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// Reading is what was measured: the 99th percentile and the maximum of
// each measure, with the number of samples. A measure with no sample
// (no Redis to ask, or Redis down the whole time) has zero N.
type Reading struct {
	RedisP99, RedisMax time.Duration
	RedisN             int
	WakeP99, WakeMax   time.Duration
	WakeN              int
}

// readingJSON is a reading as a journal keeps it: milliseconds.
type readingJSON struct {
	RedisP99 float64 `json:"redis_p99_ms"`
	RedisMax float64 `json:"redis_max_ms"`
	RedisN   int     `json:"redis_samples"`
	WakeP99  float64 `json:"wake_p99_ms"`
	WakeMax  float64 `json:"wake_max_ms"`
	WakeN    int     `json:"wake_samples"`
}

func ms(d time.Duration) float64   { return float64(d.Microseconds()) / 1000 }
func dur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// MarshalJSON writes the durations in milliseconds.
func (r Reading) MarshalJSON() ([]byte, error) {
	return json.Marshal(readingJSON{ms(r.RedisP99), ms(r.RedisMax), r.RedisN, ms(r.WakeP99), ms(r.WakeMax), r.WakeN})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Reading) UnmarshalJSON(data []byte) error {
	var j readingJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*r = Reading{dur(j.RedisP99), dur(j.RedisMax), j.RedisN, dur(j.WakeP99), dur(j.WakeMax), j.WakeN}
	return nil
}

// Worst is the larger of the two 99th percentiles: what a request that
// waits on a goroutine and on Redis may take, most of the time.
func (r Reading) Worst() time.Duration { return max(r.RedisP99, r.WakeP99) }

// maxSamples bounds what a reading keeps of each measure: the latest
// samples, and the maximum of all of them.
const maxSamples = 4096

// series keeps the latest samples of one measure, and the maximum of all.
type series struct {
	mu   sync.Mutex
	xs   []time.Duration
	next int // where the next sample goes, once xs is full
	max  time.Duration
	n    int
}

func (s *series) add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.max = max(s.max, d)
	if len(s.xs) < maxSamples {
		s.xs = append(s.xs, d)
		return
	}
	s.xs[s.next] = d
	s.next = (s.next + 1) % maxSamples
}

// read returns the 99th percentile of the kept samples (nearest rank: the
// smallest that 99 % of them do not exceed), the maximum and the count.
func (s *series) read() (p99, most time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.xs) == 0 {
		return 0, 0, 0
	}
	xs := slices.Clone(s.xs)
	slices.Sort(xs)
	return xs[(len(xs)*99+99)/100-1], s.max, s.n
}

// over counts the kept samples longer than limit.
func (s *series) over(limit time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.xs {
		if x > limit {
			n++
		}
	}
	return n
}

// Measure reads the machine for d: PINGs to the Redis at redisAddr one
// after another (none when redisAddr is ""), and 1 ms sleeps, at once.
func Measure(ctx context.Context, redisAddr string, d time.Duration) Reading {
	w := start(ctx, redisAddr, time.Millisecond, time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return w.Stop()
}

// Watch reads the machine until stopped.
type Watch struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
	redis  series
	wake   series
}

// Start begins reading the machine: a PING to redisAddr (when not "")
// and a short sleep every interval, until Stop.
func Start(ctx context.Context, redisAddr string, every time.Duration) *Watch {
	return start(ctx, redisAddr, every, 10*time.Millisecond)
}

func start(ctx context.Context, redisAddr string, every, nap time.Duration) *Watch {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watch{cancel: cancel}
	w.done.Add(2)
	go func() {
		defer w.done.Done()
		for ctx.Err() == nil {
			t0 := time.Now()
			sleep(ctx, nap)
			if ctx.Err() == nil {
				w.wake.add(max(time.Since(t0)-nap, 0))
			}
			sleep(ctx, every-nap)
		}
	}()
	go func() {
		defer w.done.Done()
		if redisAddr == "" {
			return
		}
		var p pinger
		defer p.close()
		for ctx.Err() == nil {
			d, stalled, err := p.ping(ctx, redisAddr)
			if err == nil || stalled {
				w.redis.add(d)
			}
			if err != nil {
				p.close()
			}
			sleep(ctx, every)
		}
	}()
	return w
}

// Stop ends the watch and returns what it read.
func (w *Watch) Stop() Reading {
	w.cancel()
	w.done.Wait()
	return w.Read()
}

// Over counts the samples, of those kept, longer than limit: PINGs, and
// wake-ups late by more.
func (w *Watch) Over(limit time.Duration) (redis, wake int) {
	return w.redis.over(limit), w.wake.over(limit)
}

// Read returns what the watch has read so far.
func (w *Watch) Read() Reading {
	var r Reading
	r.RedisP99, r.RedisMax, r.RedisN = w.redis.read()
	r.WakeP99, r.WakeMax, r.WakeN = w.wake.read()
	return r
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// pingTimeout bounds one PING: a Redis paused longer than this is a
// measure of its own (the maximum says so), not a reason to hang.
const pingTimeout = 10 * time.Second

// pinger keeps one connection to Redis and times PINGs on it, in the
// protocol's own words, so that this package needs no Redis client.
type pinger struct {
	conn net.Conn
	rd   *bufio.Reader
}

var errNotPong = errors.New("redis did not answer +PONG")

// ping times one PING. An error is no sample, with one exception, which
// stalled reports: a PING that was sent and still had no answer when the
// watch stopped or pingTimeout passed. That wait is a measure of the
// machine (a Redis paused at the very end of a scenario is exactly what
// a reading must not miss), so its duration so far is returned with it.
// A Redis the scenario stopped closes the connection, which says nothing
// about the machine; neither does a dial that fails.
func (p *pinger) ping(ctx context.Context, addr string) (d time.Duration, stalled bool, err error) {
	if p.conn == nil {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return 0, false, err
		}
		p.conn, p.rd = c, bufio.NewReaderSize(c, 64)
	}
	t0 := time.Now()
	p.conn.SetDeadline(t0.Add(pingTimeout))
	conn := p.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // Stop does not wait for a hung Redis
	defer stop()
	if _, err := p.conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return 0, false, err
	}
	line, err := p.rd.ReadSlice('\n')
	if err != nil {
		var ne net.Error
		stalled := ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout())
		return time.Since(t0), stalled, err
	}
	if string(line) != "+PONG\r\n" {
		return 0, false, errNotPong
	}
	return time.Since(t0), false, nil
}

func (p *pinger) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn, p.rd = nil, nil
	}
}
