package scenarios

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"statelab"
	"statelab/internal/machine"
	"statelab/internal/poll"
	"statelab/lab"
)

// A busy machine (a laptop running Docker Desktop, a browser and a video
// call) can make the lab's own timing fail where no variant did: Redis
// answers late and a login times out, a health check misses its deadline.
// The engine calibrates its timing to the machine before the first
// scenario, watches the machine while each runs, and counts every answer
// no injected fault explains; a prediction that fails where the machine
// was disturbed is inconclusive, not FAILS.

// Timing is what the lab allows for on this machine.
type Timing struct {
	// StoreTimeout is how long an instance waits for Redis before it
	// answers 503.
	StoreTimeout time.Duration
	// Lifetime is the short life token-expiry gives tokens and sessions.
	Lifetime time.Duration
	// Patience multiplies every wait for the lab (an instance reported
	// down, every instance up again).
	Patience float64
}

// Floors of the calibrated timing: what a quiet machine gets.
const (
	// StoreTimeoutFloor is well beyond any pause a laptop's Redis makes
	// (a third of a second, when the machine is crowded), and still an
	// outage measured in one second, not go-redis's default of several.
	StoreTimeoutFloor = time.Second
	lifetimeFloor     = 4 * time.Second
	// The headroom the calibration gives over what it measured: the
	// store timeout is 20 times the worst 99th percentile and twice the
	// longest wait, lifetimes 100 times and four times.
	storeHeadroom    = 20
	lifetimeHeadroom = 100
	patienceUnit     = 10 * time.Millisecond
	calibrateFor     = time.Second
	watchEvery       = 50 * time.Millisecond
)

// DefaultTiming is the timing without calibration: the lab's own store
// timeout (what its instances say), and the constants the catalogue was
// written with.
func DefaultTiming(storeTimeout time.Duration) Timing {
	return Timing{StoreTimeout: storeTimeout, Lifetime: lifetimeFloor, Patience: 1}
}

// Derive chooses the timing for a machine that read m: ample headroom over
// what it measured, never less than a quiet machine gets.
func Derive(m machine.Reading) Timing {
	worst, longest := m.Worst(), max(m.RedisMax, m.WakeMax)
	store := roundUp(max(StoreTimeoutFloor, storeHeadroom*worst, 2*longest), 50*time.Millisecond)
	life := roundUp(max(lifetimeFloor, lifetimeHeadroom*worst, 4*longest), time.Second)
	return Timing{
		StoreTimeout: min(store, 10*time.Second),
		Lifetime:     min(life, 30*time.Second),
		Patience:     min(max(1, float64(worst)/float64(patienceUnit)), 10),
	}
}

func roundUp(d, unit time.Duration) time.Duration { return (d + unit - 1) / unit * unit }

// Wait is a wait for the lab, lengthened by the machine's patience.
func (t Timing) Wait(d time.Duration) time.Duration { return t.wait(d) }

// wait is a wait for the lab, lengthened by the machine's patience.
func (t Timing) wait(d time.Duration) time.Duration {
	return time.Duration(float64(d) * max(t.Patience, 1))
}

// Calibration is what the run measured before its first scenario and the
// timing it chose, as the journal records it.
type Calibration struct {
	// Off: calibration was turned off (--calibrate=off): nothing measured,
	// the lab's own timing kept.
	Off      bool            `json:"off,omitempty"`
	Measured machine.Reading `json:"measured"`
	Timing   Timing          `json:"-"`
	// The timing, as the journal writes it.
	StoreTimeoutMs float64 `json:"store_timeout_ms"`
	LifetimeSec    float64 `json:"lifetime_seconds"`
	Patience       float64 `json:"patience"`
	// Kept says why the lab's instances wait otherwise than the timing
	// chose ("" when they wait as chosen).
	Kept string `json:"kept,omitempty"`
	// Line says it all in one line, as the run prints it.
	Line string `json:"line"`
}

// Calibrate measures the machine for about a second, chooses the timing,
// and puts the store timeout in force where the runtime lets it (a
// lab.Tuner). Off, it measures nothing and reads the lab's own store
// timeout.
func Calibrate(ctx context.Context, rt lab.Runtime, off bool) (Calibration, error) {
	c := Calibration{Off: off}
	if c.Off {
		have, err := storeTimeout(ctx, rt)
		if err != nil {
			return c, err
		}
		c.Timing = DefaultTiming(have)
	} else {
		c.Measured = machine.Measure(ctx, rt.Endpoints().Redis, calibrateFor)
		if err := ctx.Err(); err != nil {
			return c, err
		}
		c.Timing = Derive(c.Measured)
		if tuner, ok := rt.(lab.Tuner); ok {
			if err := tuner.Tune(ctx, lab.Settings{RedisTimeout: c.Timing.StoreTimeout}); err != nil {
				return c, fmt.Errorf("put the calibrated timing in force: %w", err)
			}
		}
		have, err := storeTimeout(ctx, rt)
		if err != nil {
			return c, err
		}
		if have != c.Timing.StoreTimeout {
			c.Kept = fmt.Sprintf("this lab's instances keep their own: they wait %s", Seconds(have.Seconds()))
			c.Timing.StoreTimeout = have
		}
	}
	c.StoreTimeoutMs = float64(c.Timing.StoreTimeout.Milliseconds())
	c.LifetimeSec = c.Timing.Lifetime.Seconds()
	c.Patience = c.Timing.Patience
	c.Line = c.describe()
	return c, nil
}

// storeTimeout is how long the lab's redis instances say they wait for
// Redis (their /healthz), asked until one answers (30 s at most: they may
// just have been restarted on a busy machine).
func storeTimeout(ctx context.Context, rt lab.Runtime) (time.Duration, error) {
	var names []string
	for _, d := range statelab.Descriptions() {
		if d.DiesWithStore() {
			names = append(names, rt.Instances(d.Variant)...)
		}
	}
	if len(names) == 0 {
		return 0, errors.New("the lab has no redis instance to say how long it waits for Redis")
	}
	var d time.Duration
	err := poll.Until(ctx, 30*time.Second, 50*time.Millisecond, func(ctx context.Context) error {
		h, err := lab.Health(ctx, rt.InstanceURL(names[0]))
		if err != nil {
			return err
		}
		if d, err = time.ParseDuration(h.RedisTimeout); err != nil || d <= 0 {
			return poll.Stop(fmt.Errorf("%s does not say how long it waits for Redis (%q)", names[0], h.RedisTimeout))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ask %s how long it waits for Redis: %w", names[0], err)
	}
	return d, nil
}

func (c Calibration) describe() string {
	t := c.Timing
	chose := fmt.Sprintf("the instances wait %s for Redis, token-expiry's lifetimes are %s", Seconds(t.StoreTimeout.Seconds()), Seconds(t.Lifetime.Seconds()))
	if t.Patience > 1 {
		chose += fmt.Sprintf(", waits for the lab are %.1f times as long", t.Patience)
	}
	if c.Off {
		return "not calibrated (--calibrate=off): " + chose
	}
	m := c.Measured
	redis := "Redis did not answer a PING"
	if m.RedisN > 0 {
		redis = "Redis answered a PING in " + spread(m.RedisN, m.RedisP99, m.RedisMax)
	}
	line := fmt.Sprintf("this machine, for %s: %s; a sleeping goroutine woke up late by %s. Chosen, with room to spare (at least 1 s, 20 times the p99, twice the longest): %s",
		Seconds(calibrateFor.Seconds()), redis, spread(m.WakeN, m.WakeP99, m.WakeMax), chose)
	if c.Kept != "" {
		line += " (" + c.Kept + ")"
	}
	return line
}

// spread says how n timings spread: "158 µs at the 99th percentile of
// 741, 2.1 ms at most"; below a hundred samples, where a 99th percentile
// is the largest, only the largest: "2.1 ms at most, of 41".
func spread(n int, p99, most time.Duration) string {
	if n < 100 {
		return fmt.Sprintf("%s at most, of %d", micros(most), n)
	}
	return fmt.Sprintf("%s at the 99th percentile of %d, %s at most", micros(p99), n, micros(most))
}

// micros says a short duration in µs below a millisecond: "83 µs", "1.2 ms".
func micros(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return Seconds(d.Seconds())
}

// Disturbance is something the machine, not the scenario, did to a run:
// answers that timed out with no delay injected, a backend the balancer
// marked down that nothing ended, the machine slower than the timing
// allows.
type Disturbance struct {
	// Variant is the variant it touched; "" for every one.
	Variant string `json:"variant,omitempty"`
	// What says it, with its figures.
	What string `json:"what"`
}

// disturbances keeps what disturbed a scenario, bounded: a count and the
// first example of each kind per variant.
type disturbances struct {
	mu       sync.Mutex
	timeouts map[string]int    // per variant
	example  map[string]string // per variant: the first timeout's words
	logins   map[string]int    // per variant: logins among the timeouts
	other    []Disturbance
}

func newDisturbances() *disturbances {
	return &disturbances{timeouts: map[string]int{}, example: map[string]string{}, logins: map[string]int{}}
}

// maxOther bounds the disturbances kept besides timeouts.
const maxOther = 32

func (d *disturbances) timeout(v statelab.Variant, path, words string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timeouts[string(v)]++
	if path == "/login" {
		d.logins[string(v)]++
	}
	if d.example[string(v)] == "" {
		d.example[string(v)] = words
	}
}

func (d *disturbances) add(x Disturbance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.other) < maxOther {
		d.other = append(d.other, x)
	}
}

// list returns every disturbance, timeouts first (when timeouts counts
// them), variant by variant.
func (d *disturbances) list(timeouts bool) []Disturbance {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Disturbance
	for _, v := range statelab.Variants {
		if !timeouts {
			break
		}
		n := d.timeouts[string(v)]
		if n == 0 {
			continue
		}
		what := fmt.Sprintf("%s: %s timed out with no delay injected", v, plural(n, "request"))
		if l := d.logins[string(v)]; l > 0 {
			what += fmt.Sprintf(" (%s among them)", plural(l, "login"))
		}
		out = append(out, Disturbance{Variant: string(v), What: what + `, e.g. "` + d.example[string(v)] + `"`})
	}
	return append(out, d.other...)
}

// touches reports whether a disturbance touched variant v (or, for an
// expectation of every variant, any).
func touches(ds []Disturbance, v string) bool {
	for _, d := range ds {
		if d.Variant == "" || d.Variant == v || v == EveryVariant {
			return true
		}
	}
	return false
}

// plural says "1 request", "3 requests".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// TimedOut reports whether an answer is a timeout: no answer within the
// client's deadline, the balancer's 504, or an instance's 5xx that says it
// timed out (waiting for Redis).
func TimedOut(r Response) bool {
	var ne net.Error
	switch {
	case r.Err != nil:
		return errors.Is(r.Err, context.DeadlineExceeded) || (errors.As(r.Err, &ne) && ne.Timeout())
	case r.Status == 504:
		return true
	case r.Status >= 500:
		e := strings.ToLower(r.Body.Error)
		return strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded")
	}
	return false
}

// watched judges the machine's reading while a scenario ran against the
// timing: a PING or a wake-up past half the store timeout was slow enough
// to break what the scenario measures. A slow Redis touches the variants
// that use it (usesRedis); a slow wake-up, every variant.
// over counts the samples longer than a limit (machine.Watch.Over).
func watched(m machine.Reading, over func(limit time.Duration) (pings, wakes int), t Timing, usesRedis []statelab.Variant) []Disturbance {
	limit := t.StoreTimeout / 2
	slowPings, slowWakes := over(limit)
	wait := Seconds(t.StoreTimeout.Seconds())
	var out []Disturbance
	if m.RedisN > 0 && m.RedisMax > limit {
		what := fmt.Sprintf("Redis was slower than half the %s the instances wait in %s of %d (the slowest %s)", wait, plural(max(slowPings, 1), "PING"), m.RedisN, micros(m.RedisMax))
		for _, v := range usesRedis {
			out = append(out, Disturbance{Variant: string(v), What: string(v) + ": " + what})
		}
	}
	if m.WakeMax > limit {
		out = append(out, Disturbance{What: fmt.Sprintf("a sleeping goroutine woke more than half the %s the instances wait for Redis late %s of %d (the latest %s)", wait, plural(max(slowWakes, 1), "time"), m.WakeN, micros(m.WakeMax))})
	}
	return out
}

// slowed reports whether the machine was slow enough, while a scenario
// ran, that a timeout no fault explains may be its doing: a PING or a
// wake-up a quarter of the store timeout late. On a machine that never
// was, a timeout is the lab's own failure, and FAILS.
func slowed(m machine.Reading, t Timing) bool {
	return max(m.RedisMax, m.WakeMax) >= t.StoreTimeout/4
}

// BusyHint is what a room can do about a machine too busy for the lab.
const BusyHint = "close other programs (a browser tab, a video call) and run it again"

// busyWords says why a scenario was inconclusive, in a sentence.
func busyWords(ds []Disturbance) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, d.What)
	}
	return "inconclusive: this machine was too busy to judge it (" + strings.Join(parts, "; ") + "); " + BusyHint
}
