package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/oncall"
	"github.com/wardline/wardline/store"
)

// TestRouteRoles: a role with someone on call is routed to them, after
// their status: do-not-disturb forwards all but critical messages, off
// shift forwards everything; a role without a schedule is left to the
// store's fallback (its fixed members).
func TestRouteRoles(t *testing.T) {
	now := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []string{"dr.lee", "dr.kim", "dr.off"} {
		if err := st.Apply(context.Background(), store.AddUser{By: audit.System, User: directory.User{Login: u, Name: u}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Apply(context.Background(), &store.SetUserEnabled{By: audit.System, Login: "dr.off", Enabled: false}); err != nil {
		t.Fatal(err)
	}
	o := newOncallService(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	o.index = oncall.NewIndex(now)
	sc := &oncall.Schedule{Role: "cardio"}
	if err := sc.AddShift(oncall.Shift{ID: "s", Role: "cardio", User: "dr.lee", Start: now.Add(-time.Hour), End: now.Add(time.Hour), Layer: oncall.LayerShift}); err != nil {
		t.Fatal(err)
	}
	o.index.Set(sc)
	to := []messaging.Address{{User: "x"}, {Role: "cardio"}, {Role: "unscheduled"}}
	cases := []struct {
		name   string
		status store.UserStatus
		p      messaging.Priority
		want   string
	}{
		{"available", store.UserStatus{Status: "available"}, messaging.Normal, "dr.lee"},
		{"dnd forwards", store.UserStatus{Status: "dnd", ForwardTo: "dr.kim"}, messaging.Urgent, "dr.kim"},
		{"critical bypasses dnd", store.UserStatus{Status: "dnd", ForwardTo: "dr.kim"}, messaging.Critical, "dr.lee"},
		{"off shift forwards even critical", store.UserStatus{Status: "off_shift", ForwardTo: "dr.kim"}, messaging.Critical, "dr.kim"},
		{"dnd without a colleague", store.UserStatus{Status: "dnd"}, messaging.Normal, "dr.lee"},
		{"busy", store.UserStatus{Status: "busy", ForwardTo: "dr.kim"}, messaging.Normal, "dr.lee"},
		{"forwarded to a disabled colleague: left to the fallback", store.UserStatus{Status: "off_shift", ForwardTo: "dr.off"}, messaging.Normal, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.setStatus("dr.lee", c.status)
			got := o.routeRoles(to, c.p, now)
			if got[1].RoutedTo != c.want || got[0].RoutedTo != "" || got[2].RoutedTo != "" || to[1].RoutedTo != "" {
				t.Fatalf("routed %+v, want cardio to %s (input untouched)", got, c.want)
			}
		})
	}
	if got := o.routeRoles(to, messaging.Normal, now.Add(2*time.Hour)); got[1].RoutedTo != "" {
		t.Fatalf("routed outside the shift: %+v", got)
	}
}

// TestGapWarning: a gap starting within 12 hours is warned of once (log
// and gauge), and one further ahead is not.
func TestGapWarning(t *testing.T) {
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "data"), CreateKey: true, MinFree: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logs lockedLog
	o := newOncallService(st, slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Now().UTC()
	sc := &oncall.Schedule{Role: "icu"}
	for i, span := range [][2]time.Duration{{-time.Hour, 2 * time.Hour}, {3 * time.Hour, 20 * time.Hour}, {21 * time.Hour, 40 * time.Hour}} {
		if err := sc.AddShift(oncall.Shift{ID: fmt.Sprint(i), Role: "icu", User: "a", Start: now.Add(span[0]), End: now.Add(span[1]), Layer: oncall.LayerShift}); err != nil {
			t.Fatal(err)
		}
	}
	o.index.Set(sc)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { o.runGapWatch(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for o.gapsAhead.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := o.gapsAhead.Load(); n != 1 {
		t.Fatalf("gaps ahead: %d, want 1 (02:00-03:00; the one at 20:00 is beyond 12 h)", n)
	}
	if got := strings.Count(logs.String(), "coverage gap ahead"); got != 1 {
		t.Fatalf("warned %d times:\n%s", got, logs.String())
	}
}

// lockedLog is a log sink safe for concurrent writes.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
