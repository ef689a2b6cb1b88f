package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkApply measures the write path: durable (fsynced), audited
// commands per second with group commit, for 1 and 64 concurrent writers.
//
//	go test -run '^$' -bench BenchmarkApply -benchtime 3s -count 5 ./store/
func BenchmarkApply(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := openTemp(b)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < b.N; i += writers {
						if err := s.Apply(context.Background(), AddUser{By: admin, User: userNamed(fmt.Sprintf("u%d", i))}); err != nil {
							b.Error(err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
			b.ReportMetric(float64(st.Commands)/float64(max(st.Commits, 1)), "cmds/fsync")
		})
	}
}
