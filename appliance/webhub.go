package appliance

import (
	"sync"

	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// webHub passes committed messages and receipts to the signed-in
// browsers of the people concerned, as server-sent events. A web session
// acts as one more client of its user: what devices get, it gets.
type webHub struct {
	mu   sync.Mutex
	subs map[string]map[chan ui.Event]struct{} // login -> streams
}

func newWebHub() *webHub { return &webHub{subs: map[string]map[chan ui.Event]struct{}{}} }

// subscribe opens a stream for login; cancel closes it.
func (h *webHub) subscribe(login string) (<-chan ui.Event, func()) {
	ch := make(chan ui.Event, 64)
	h.mu.Lock()
	if h.subs[login] == nil {
		h.subs[login] = map[chan ui.Event]struct{}{}
	}
	h.subs[login][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[login], ch)
		if len(h.subs[login]) == 0 {
			delete(h.subs, login)
		}
		h.mu.Unlock()
	}
}

// publish hands ev to every stream of login without blocking: a browser
// too slow to take it catches up from the store when it reloads.
func (h *webHub) publish(login string, ev ui.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[login] {
		select {
		case ch <- ev:
		default:
		}
	}
}

// watching reports whether login has a stream open.
func (h *webHub) watching(login string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[login]) > 0
}

// sent passes a new message to its sender's and recipients' browsers.
func (h *webHub) sent(c *store.SendMessage) {
	if h == nil || c.Duplicate {
		return
	}
	m := c.Result
	for _, login := range append([]string{m.From}, m.Recipients...) {
		if !h.watching(login) {
			continue
		}
		item := messageItem(m, login)
		if login == m.From {
			for _, r := range m.Recipients {
				item.States = append(item.States, ui.StateItem{User: r, State: "queued"})
			}
		}
		h.publish(login, ui.Event{Type: "message", Data: item})
	}
}

// receipt is the JSON of a receipt event.
type receiptEvent struct {
	Message string `json:"message"`
	User    string `json:"user"`
	State   string `json:"state"`
	At      string `json:"at"`
}

// acked passes a recipient's new state to the sender's browsers.
func (h *webHub) acked(c *store.AckMessage) {
	if h == nil || !c.Changed || c.Sender == "" {
		return
	}
	r := c.Receipt
	h.publish(c.Sender, ui.Event{Type: "receipt", Data: receiptEvent{Message: r.Message, User: r.User, State: string(r.State), At: r.At.UTC().Format("2006-01-02T15:04:05Z07:00")}})
}
