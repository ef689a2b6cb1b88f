package alerting

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkTimers10k sets 10,000 escalation timers due over the next
// second and reports how late they fire: max and p99 lateness in ms.
func BenchmarkTimers10k(b *testing.B) {
	const n = 10000
	var worst []time.Duration
	for i := 0; i < b.N; i++ {
		var mu sync.Mutex
		due := make(map[string]time.Time, n)
		late := make([]time.Duration, 0, n)
		done := make(chan struct{})
		tm := NewTimers(func(id string, _ int) {
			mu.Lock()
			late = append(late, time.Since(due[id]))
			if len(late) == n {
				close(done)
			}
			mu.Unlock()
		})
		ctx, cancel := context.WithCancel(context.Background())
		go tm.Run(ctx)
		start := time.Now().Add(200 * time.Millisecond)
		mu.Lock()
		for j := 0; j < n; j++ {
			id := fmt.Sprintf("alr_%05d", j)
			d := start.Add(time.Duration(j) * time.Second / n)
			due[id] = d
			tm.Set(id, 0, d)
		}
		mu.Unlock()
		<-done
		cancel()
		slices.Sort(late)
		worst = append(worst, late[len(late)-1], late[len(late)*99/100])
	}
	var maxLate, p99 time.Duration
	for i := 0; i < len(worst); i += 2 {
		maxLate, p99 = max(maxLate, worst[i]), max(p99, worst[i+1])
	}
	b.ReportMetric(float64(maxLate.Microseconds())/1000, "max-late-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-late-ms")
}
