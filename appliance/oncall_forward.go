package appliance

import (
	"maps"

	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// Status rules for a message addressed to a user by login (docs/device-api.md,
// "Status"):
//   - dnd with forward_to: every message but a critical one goes to the
//     colleague (critical messages bypass do-not-disturb and reach the user);
//   - off_shift with forward_to: every message, critical too, goes to the
//     colleague;
//   - dnd without forward_to: the message is stored and delivered to the
//     user, but a normal or urgent one without in/notify (quiet: no sound,
//     no banner); a critical one notifies and repeats as always;
//   - off_shift without forward_to, busy, available: delivered as always
//     (busy is shown to colleagues in status.get and directory.search only).

// forwardUsers sets RoutedTo on each user address whose user's status
// forwards this message to an enabled colleague. The store then delivers
// to the colleague, and the address records both the user it named and
// the person it reached, as a role's does.
func (o *oncallService) forwardUsers(to []messaging.Address, p messaging.Priority) []messaging.Address {
	var out []messaging.Address
	for i, a := range to {
		if a.User == "" {
			continue
		}
		login := o.forward(a.User, p == messaging.Critical)
		if login == a.User {
			continue
		}
		if u, err := o.store.User(login); err != nil || !u.Enabled {
			continue // a colleague who cannot take it: the user gets it
		}
		if out == nil {
			out = append([]messaging.Address(nil), to...)
		}
		out[i].RoutedTo = login
	}
	if out == nil {
		return to
	}
	return out
}

// quiet reports whether a message reaching login goes without in/notify:
// the user is on do-not-disturb with no colleague to forward to, and the
// message is not critical.
func (o *oncallService) quiet(login string, p messaging.Priority) bool {
	if p == messaging.Critical {
		return false
	}
	st := o.status(login)
	return st.Status == "dnd" && st.ForwardTo == ""
}

// quieted returns unread with the recipients who take this message quietly
// left out (no in/notify is sent to them; their unread count is still
// kept by the store and sent with their next notification).
func (o *oncallService) quieted(unread map[string]int64, p messaging.Priority) map[string]int64 {
	if p == messaging.Critical || len(unread) == 0 {
		return unread
	}
	var out map[string]int64
	for login := range unread {
		if o.quiet(login, p) {
			if out == nil {
				out = maps.Clone(unread)
			}
			delete(out, login)
		}
	}
	if out == nil {
		return unread
	}
	return out
}

// quietSend returns a committed send to deliver with quieted recipients'
// notifications left out (the send itself when there are none, or when
// on-call routing is not running).
func (o *oncallService) quietSend(c *store.SendMessage) *store.SendMessage {
	if o == nil {
		return c
	}
	unread := o.quieted(c.Unread, c.Result.Priority)
	if len(unread) == len(c.Unread) {
		return c
	}
	q := *c
	q.Unread = unread
	return &q
}

// statusOf returns a user's status when one is set (none when on-call
// routing is not running).
func (o *oncallService) statusOf(login string) (store.UserStatus, bool) {
	if o == nil {
		return store.UserStatus{}, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	st, ok := o.statuses[login]
	return st, ok
}
