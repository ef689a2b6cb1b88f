package appliance

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
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
