package appliance

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// TestStatusRules is the table of docs/device-api.md, "Status", for a
// message addressed by login: whom it reaches and whether it notifies.
func TestStatusRules(t *testing.T) {
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
	to := []messaging.Address{{Role: "cardio"}, {User: "dr.lee"}, {Group: "icu"}}
	cases := []struct {
		status   string
		forward  string
		p        messaging.Priority
		reaches  string // "" for the user
		notifies bool
	}{
		{"available", "", messaging.Normal, "", true},
		{"busy", "dr.kim", messaging.Urgent, "", true},
		{"dnd", "dr.kim", messaging.Normal, "dr.kim", true},
		{"dnd", "dr.kim", messaging.Urgent, "dr.kim", true},
		{"dnd", "dr.kim", messaging.Critical, "", true},
		{"dnd", "", messaging.Normal, "", false},
		{"dnd", "", messaging.Urgent, "", false},
		{"dnd", "", messaging.Critical, "", true},
		{"off_shift", "dr.kim", messaging.Normal, "dr.kim", true},
		{"off_shift", "dr.kim", messaging.Critical, "dr.kim", true},
		{"off_shift", "", messaging.Urgent, "", true},
		{"off_shift", "dr.off", messaging.Normal, "", true}, // a disabled colleague: the user
	}
	for _, c := range cases {
		t.Run(c.status+"/"+c.forward+"/"+string(c.p), func(t *testing.T) {
			o.setStatus("dr.lee", store.UserStatus{Status: c.status, ForwardTo: c.forward})
			got := o.forwardUsers(to, c.p)
			if got[1].RoutedTo != c.reaches || got[0].RoutedTo != "" || got[2].RoutedTo != "" || to[1].RoutedTo != "" {
				t.Fatalf("forwarded %+v, want dr.lee to %q (input untouched)", got, c.reaches)
			}
			unread := map[string]int64{"dr.lee": 3, "dr.kim": 1}
			send := &store.SendMessage{Result: messaging.Message{ID: "msg_1", Priority: c.p}, Unread: unread}
			q := o.quietSend(send)
			if _, n := q.Unread["dr.lee"]; n != c.notifies || q.Unread["dr.kim"] != 1 || len(unread) != 2 {
				t.Fatalf("notify dr.lee: %v, want %v (the store's counts untouched: %v)", q.Unread, c.notifies, unread)
			}
			if st, ok := o.statusOf("dr.lee"); !ok || st.Status != c.status {
				t.Fatalf("statusOf: %+v %v", st, ok)
			}
		})
	}
	if _, ok := o.statusOf("dr.kim"); ok {
		t.Fatal("a status that was never set is shown")
	}
	var none *oncallService
	if s := (&store.SendMessage{}); none.quietSend(s) != s {
		t.Fatal("without on-call routing a send is delivered as it is")
	}
}
