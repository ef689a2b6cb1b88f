package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/store"
)

// BenchmarkEscalationFiring10k stores 10,000 pending alert escalations
// whose first step runs out within one second, starts the escalation
// runner as after a restart (it resumes them from the store) and waits
// until every second step is committed (fsynced, audited). It reports how
// late the steps were against their due times: p50, p99 and max in ms.
func BenchmarkEscalationFiring10k(b *testing.B) {
	const n = 10000
	var p50s, p99s, maxes []float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open(store.Options{Dir: filepath.Join(b.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		by := audit.Actor{User: "local:root", Source: "unix"}
		for _, u := range []string{"dr.a", "dr.b"} {
			if err := st.Apply(ctx, store.AddUser{By: by, User: directory.User{Login: u, Name: u}}); err != nil {
				b.Fatal(err)
			}
		}
		p := alerting.Policy{Name: "p", Steps: []alerting.Step{{Kind: alerting.TargetUser, Name: "dr.a", Wait: 3 * time.Second}, {Kind: alerting.TargetUser, Name: "dr.b", Wait: time.Hour}}}
		base := time.Now()
		var wg sync.WaitGroup
		for j := 0; j < n; j++ {
			at := base.Add(time.Duration(j) * time.Second / n) // due 3 s to 4 s from base
			e := alerting.New(fmt.Sprintf("alr_%05d", j), alerting.KindAlert, "", p, at)
			e.Subject, e.Alert = e.ID, &alerting.Alert{Kind: "lab", Text: "x", Priority: "urgent"}
			_ = e.Reach(0, []string{"dr.a"}, "", at)
			wg.Add(1)
			st.Submit(&store.StartEscalation{By: by, Esc: e}, func(err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			})
		}
		wg.Wait()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		o := newOncallService(st, log)
		x := newEscalations(st, o, newDeliveries(st, nil, log, time.Minute), log)
		runCtx, cancel := context.WithCancel(ctx)
		b.StartTimer()
		go x.run(runCtx)
		for x.steps.Load() < n {
			time.Sleep(10 * time.Millisecond)
		}
		b.StopTimer()
		cancel()
		list, err := st.ActiveEscalations(ctx)
		if err != nil || len(list) != n {
			b.Fatalf("%d active, %v", len(list), err)
		}
		late := make([]float64, 0, n)
		for _, e := range list {
			if len(e.Reached) != 2 {
				b.Fatalf("%s reached %d steps", e.ID, len(e.Reached))
			}
			due := e.Reached[0].At.Add(p.Steps[0].Wait)
			late = append(late, float64(e.Reached[1].At.Sub(due).Microseconds())/1000)
		}
		slices.Sort(late)
		p50s, p99s, maxes = append(p50s, late[n/2]), append(p99s, late[n*99/100]), append(maxes, late[n-1])
		st.Close()
	}
	b.ReportMetric(slices.Max(p50s), "p50-late-ms")
	b.ReportMetric(slices.Max(p99s), "p99-late-ms")
	b.ReportMetric(slices.Max(maxes), "max-late-ms")
}
