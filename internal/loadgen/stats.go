package loadgen

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value that at least p percent of the
// values are less than or equal to. It returns 0 for no values.
func percentile(sorted []int64, p float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9)) // the epsilon undoes 99.9*1000/100 = 999.0000000000001
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Latency summarises a set of durations in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// summarize sorts ns (nanoseconds) in place and summarises it.
func summarize(ns []int64) Latency {
	if len(ns) == 0 {
		return Latency{}
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	return Latency{Count: len(ns), P50: ms(percentile(ns, 50)), P90: ms(percentile(ns, 90)), P99: ms(percentile(ns, 99)),
		Max: ms(ns[len(ns)-1]), Mean: round3(sum / float64(len(ns)) / 1e6)}
}

func ms(ns int64) float64 { return round3(float64(ns) / 1e6) }

// round3 rounds to three decimals, which is all a report needs.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// perSecond is n per second over d, rounded to one decimal.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}
