package oncall

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkWho answers "who covers role R at t" for random roles and
// times with 2,000 roles, each with a year of day/night shifts (730 a
// role, 1.46 million in all) and some overrides, and reports the p99
// latency of one answer.
func BenchmarkWho(b *testing.B) {
	start := time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC)
	x := NewIndex(start.Add(WindowBefore))
	roles := make([]string, 2000)
	for i := range roles {
		roles[i] = fmt.Sprintf("role-%04d", i)
		sc := &Schedule{Role: roles[i]}
		if err := sc.AddRotation(Rotation{ID: "r", Role: roles[i], Kind: DayNight, Zone: "Europe/Berlin", NightStart: "19:00",
			Start: start, Until: start.AddDate(1, 0, 0), Users: []string{"u1", "u2", "u3", "u4"}}); err != nil {
			b.Fatal(err)
		}
		for d := 0; d < 365; d += 7 {
			s := start.AddDate(0, 0, d).Add(3 * time.Hour)
			_ = sc.AddShift(Shift{ID: fmt.Sprint(d), Role: roles[i], User: "cover", Start: s, End: s.Add(2 * time.Hour), Layer: LayerOverride})
		}
		x.Set(sc)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	year := int64(365 * 24 * time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		role := roles[rng.IntN(len(roles))]
		at := start.Add(time.Duration(rng.Int64N(year)))
		t0 := time.Now()
		if _, ok := x.Who(role, at); !ok {
			b.Fatal("nobody covers")
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
}
