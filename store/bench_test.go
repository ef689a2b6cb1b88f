package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
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

// BenchmarkBaselineBadgerTxnPerWrite is the baseline for BenchmarkApply:
// the same records written the plain way, one synced Badger transaction per
// write from each writer (no audit, no group commit), on the same options.
//
//	go test -run '^$' -bench 'BenchmarkApply|BenchmarkBaseline' -benchtime 3s -count 5 ./store/
func BenchmarkBaselineBadgerTxnPerWrite(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := openTemp(b)
			val := []byte(`{"login":"u","name":"N u","email":"","department":"","title":"","enabled":true,"source":"local"}`)
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < b.N; i += writers {
						err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(userKey(fmt.Sprintf("u%d", i)), val) })
						if err != nil {
							b.Error(err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmds/s")
		})
	}
}
