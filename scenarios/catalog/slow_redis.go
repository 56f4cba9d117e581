package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"statelab/lb/api"
	"statelab/scenarios/vocab"

	"statelab"
	"statelab/lab"
	"statelab/scenarios"
)

// slowSteps are the latencies slow-redis adds between the instances and
// Redis, as parts of the time the instances wait for Redis (the run's
// timing): none, a fiftieth and a tenth (0, 20 and 100 ms when they wait
// a second), each well within it; and the probe of each.
var slowSteps = []struct {
	per   int // of the store timeout: d = timeout / per; 0: no delay
	probe string
}{
	{0, "Redis without delay"},
	{50, "Redis a little slower"},
	{10, "Redis a tenth of the timeout slower"},
}

func slowDelay(timeout time.Duration, per int) time.Duration {
	if per == 0 {
		return 0
	}
	return (timeout / time.Duration(per)).Round(time.Millisecond)
}

// slowSamples is how many GET /me one user sends, one after the other, at
// each delay.
const slowSamples = 40

// slowFigures is what one variant's GET /me cost at one delay.
type slowFigures struct {
	DelayMs float64 `json:"delay_ms"`
	P50Ms   float64 `json:"p50_ms"`
	// P99Ms is the 99th percentile of the samples: with slowSamples (40)
	// of them, the slowest.
	P99Ms float64 `json:"p99_ms"`
	// Sent is the bytes the variant's instances sent Redis meanwhile.
	Sent int64 `json:"redis_bytes_sent"`
}

const slowPast = "Redis slower than the instances wait"

// slowRedis: latency between the instances and Redis, +0, +20 and +100 ms,
// then more than the instances wait for Redis.
var slowRedis = &scenarios.Scenario{
	Name:     "slow-redis",
	Summary:  "latency added between the instances and Redis: redis pays it on every request, the others never ask Redis; past the Redis timeout, 503",
	Setup:    "round-robin (memory sticky); a delay proxy between the instances and Redis adds none, a fiftieth and a tenth of the Redis timeout (0, 20 and 100 ms when it is 1 s), then more than the timeout",
	Claims:   []scenarios.Claim{claimSharedStore, claimSharedBottleneck},
	Needs:    []lab.Capability{lab.SlowRedis, lab.MeterRedis},
	MaxUsers: 10,
	Steps: []scenarios.Step{
		{
			Title: "route memory with affinity, the others round-robin",
			Why:   "Memory needs affinity; redis, jwt and cookie can go anywhere.",
			Run:   func(r *scenarios.Run) error { return r.SetPolicyFor(inProcess, api.Sticky) },
		},
		vocab.Fill(),
		{
			Title: "at each delay: every user asks who it is, then one user asks 40 times alone",
			Why:   "Every GET /me of a redis user reads its session from Redis; memory reads its own map, jwt and cookie verify what the request carries.",
			Run:   measureSlow,
		},
		{
			Title: "make Redis slower than the instances wait for it",
			Why:   "Each redis instance gives up on Redis after its timeout, and answers 503: failing closed.",
			Run: func(r *scenarios.Run) error {
				var h statelab.Body
				if err := r.InstanceGet(r.RT.Instances(inStore)[0], "/healthz", &h); err != nil {
					return err
				}
				timeout, err := time.ParseDuration(h.RedisTimeout)
				if err != nil {
					return fmt.Errorf("redis-1 does not say its Redis timeout (%q)", h.RedisTimeout)
				}
				d := timeout * 7 / 5
				r.Fact("redis timeout ms", float64(timeout.Milliseconds()))
				r.Fact("past delay ms", float64(d.Milliseconds()))
				r.Fault()
				if err := lab.SetRedisLatency(r.Context(), r.RT, d); err != nil {
					return err
				}
				r.Note("the instances wait %d ms for Redis; every answer of Redis now comes %d ms late", timeout.Milliseconds(), d.Milliseconds())
				_, err = r.Probe(slowPast, 1)
				return err
			},
		},
		{
			Title: "take the delay away",
			Why:   "Redis answers at once again.",
			Run: func(r *scenarios.Run) error {
				if err := lab.SetRedisLatency(r.Context(), r.RT, 0); err != nil {
					return err
				}
				r.Fixed()
				_, err := r.Probe("Redis fast again", 1)
				return err
			},
		},
	},
	Predict: func(d statelab.Description) []scenarios.Expectation {
		v := d.Variant
		if !d.DiesWithStore() {
			return []scenarios.Expectation{asksRedisNothing(v), vocab.KeepsAll(v, slowPast)}
		}
		return []scenarios.Expectation{paysDelay(v), vocab.UnavailableFromInstances(v, slowPast), vocab.KeepsAll(v, "Redis fast again")}
	},
	Verdict:    slowPast,
	Highlights: []string{slowSteps[len(slowSteps)-1].probe, slowPast, "Redis fast again"},
	Lesson: func(res *scenarios.Result) string {
		f := slowOf(res, inStore)
		if len(f) < len(slowSteps) {
			return "The latency was not measured: see the error above."
		}
		var p50s, delays []string
		for _, x := range f {
			p50s = append(p50s, fmt.Sprintf("%.1f", x.P50Ms))
			delays = append(delays, fmt.Sprintf("+%.0f", x.DelayMs))
		}
		others := notMemory()[1:]
		down, of := users(res, slowPast, inStore, scenarios.Unavailable)
		return fmt.Sprintf("With Redis %s ms away, one redis GET /me took %s ms (medians of %d): every request pays the round trip to the shared store, and a slower store slows every request. "+
			"Memory, %s sent Redis %d bytes meanwhile: what they need is in the process or in the request, so no delay of Redis can reach them. "+
			"Once Redis answered %.0f ms late, more than the %.0f ms an instance waits, %d of %d redis users got 503 from healthy instances. "+
			"A shared store is a dependency on the path of every request: its latency is the application's. (Latency and the timeout only: the store's capacity under load is not measured here.)",
			vocab.And(delays), vocab.And(p50s), slowSamples, variantNames(others), sentBy(res, inProcess)+sentBy(res, inToken)+sentBy(res, inCookie),
			res.Float("past delay ms"), res.Float("redis timeout ms"), down, of)
	},
}

func measureSlow(r *scenarios.Run) error {
	figures := map[statelab.Variant][]slowFigures{}
	var cols []string
	for _, st := range slowSteps {
		d := slowDelay(r.Timing().StoreTimeout, st.per)
		if len(cols) == 0 {
			cols = append(cols, fmt.Sprintf("Redis +%d ms", d.Milliseconds()))
		} else {
			cols = append(cols, fmt.Sprintf("+%d ms", d.Milliseconds()))
		}
		if err := lab.SetRedisLatency(r.Context(), r.RT, d); err != nil {
			return err
		}
		r.Aside("the delay proxy now adds %d ms to every answer of Redis", d.Milliseconds())
		if _, err := r.Probe(st.probe, 1); err != nil {
			return err
		}
		for _, v := range statelab.Variants {
			before, err := lab.RedisSent(r.Context(), r.RT)
			if err != nil {
				return err
			}
			took := r.SampleLatencies(v, slowSamples)
			after, err := lab.RedisSent(r.Context(), r.RT)
			if err != nil {
				return err
			}
			slices.Sort(took)
			figures[v] = append(figures[v], slowFigures{
				DelayMs: float64(d.Milliseconds()), P50Ms: ms(took[len(took)/2]), P99Ms: ms(took[len(took)*99/100]), Sent: after - before,
			})
		}
	}
	if err := lab.SetRedisLatency(r.Context(), r.RT, 0); err != nil {
		return err
	}
	t := scenarios.Table{
		Title:   fmt.Sprintf("GET /me, one user alone, %d requests in a row at each delay: median / slowest, and the bytes the instances sent Redis meanwhile", slowSamples),
		Columns: append(append([]string{"variant"}, cols...), "bytes to Redis"),
	}
	for _, v := range statelab.Variants {
		r.Fact("slow "+string(v), figures[v])
		row := []string{string(v)}
		var sent int64
		for _, f := range figures[v] {
			// With 40 samples the 99th percentile is the slowest: said so.
			row = append(row, scenarios.Millis(f.P50Ms)+" / "+scenarios.Millis(f.P99Ms))
			sent += f.Sent
		}
		t.Rows = append(t.Rows, append(row, fmt.Sprint(sent)))
	}
	r.AddTable(t)
	return nil
}

func slowOf(res *scenarios.Result, v statelab.Variant) []slowFigures {
	f, _ := res.Facts["slow "+string(v)].([]slowFigures)
	return f
}

func sentBy(res *scenarios.Result, v statelab.Variant) int64 {
	var n int64
	for _, f := range slowOf(res, v) {
		n += f.Sent
	}
	return n
}

// paysDelay: at each delay, the median GET /me is at least the delay: each
// one waits for at least one answer of Redis.
func paysDelay(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "pays the delay on every request: its median GET /me is at least the delay", Check: func(res *scenarios.Result) (bool, string) {
		f := slowOf(res, v)
		ok := len(f) == len(slowSteps)
		var parts []string
		for _, x := range f {
			ok = ok && x.P50Ms >= x.DelayMs && x.Sent > 0
			parts = append(parts, fmt.Sprintf("+%.0f ms: %s", x.DelayMs, scenarios.Millis(x.P50Ms)))
		}
		return ok, "medians " + strings.Join(parts, ", ")
	}}
}

// asksRedisNothing: the variant's instances sent Redis nothing while
// measured, so no delay of Redis can reach its requests.
func asksRedisNothing(v statelab.Variant) scenarios.Expectation {
	return scenarios.Expectation{Variant: v, Text: "sends Redis nothing, so Redis's delay cannot reach it", Check: func(res *scenarios.Result) (bool, string) {
		f := slowOf(res, v)
		var parts []string
		for _, x := range f {
			parts = append(parts, fmt.Sprintf("+%.0f ms: %s", x.DelayMs, scenarios.Millis(x.P50Ms)))
		}
		n := sentBy(res, v)
		return len(f) == len(slowSteps) && n == 0, fmt.Sprintf("%d bytes sent to Redis; medians %s", n, strings.Join(parts, ", "))
	}}
}
