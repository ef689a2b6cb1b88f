package appliance

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// transport is what delivery needs of the broker.
type transport interface {
	Deliver(ctx context.Context, deviceID string, m broker.Outgoing) error
	DeliverBatch(ctx context.Context, deviceID string, ms []broker.Outgoing) (int, error)
	Disconnect(deviceID string) bool
	Connected(deviceID string) bool
}

// outItem is one thing to write to a device: a payload for a topic, and
// what was delivered, for the bookkeeping after the write.
type outItem struct {
	topic   string // in/ name: "msg", "notify", "receipt", "cmd", "reply", or a full response topic
	full    bool   // topic is a full topic (MQTT 5 response topic)
	payload []byte
	corr    []byte
	msgID   string           // for in/msg and in/notify: the message, to send it once per connection
	receipt *store.Receipt   // for in/receipt: dropped from the store queue once written
	cmd     *store.DeviceCmd // for in/cmd recall: dropped once written
	written func()           // called once the item was written (in/alert: drops its durable notice)
}

// mailbox is the ordered stream of what one connected device is owed. It
// is drained by at most one goroutine at a time, so a device receives in
// order and a slow device holds up no one else.
type mailbox struct {
	device string
	user   string

	mu      sync.Mutex
	items   []outItem
	loading bool      // the stored queue is being read; live items wait behind it
	held    []outItem // live items that came while loading
	running bool      // a drain goroutine is at work
	closed  bool
}

// deliveries keeps the mailboxes of the connected devices and the timers of
// critical messages, and turns committed commands into device traffic.
type deliveries struct {
	store    *store.Store
	net      transport
	log      *slog.Logger
	repeat   time.Duration // how often a critical message's notify repeats until read
	now      func() time.Time
	runCtx   context.Context
	mu       sync.Mutex
	boxes    map[string]*mailbox
	critical map[string]map[string]time.Time // login -> critical unread message -> last notified
	written  []store.Notice                  // receipts and commands written, to drop from the store

	delivered atomic.Uint64 // publishes written to devices

	web *webHub // signed-in browsers; nil when the web is off

	repeatSet atomic.Int64 // the critical repeat set on the admin console (ns); 0: repeat
}

// repeatEvery is how often a critical message's notify repeats now.
func (d *deliveries) repeatEvery() time.Duration {
	if v := d.repeatSet.Load(); v > 0 {
		return time.Duration(v)
	}
	return d.repeat
}

func newDeliveries(s *store.Store, net transport, log *slog.Logger, repeat time.Duration) *deliveries {
	return &deliveries{store: s, net: net, log: log, repeat: repeat, now: time.Now,
		boxes: map[string]*mailbox{}, critical: map[string]map[string]time.Time{}}
}

// connected reports whether a device has a live connection.
func (d *deliveries) connected(id string) bool { return d.net.Connected(id) }

// online opens a mailbox for a device that connected and subscribed, and
// fills it with what the store holds for it, in order.
func (d *deliveries) online(dev, user string) {
	mb := &mailbox{device: dev, user: user, loading: true}
	d.mu.Lock()
	if old := d.boxes[dev]; old != nil {
		old.close()
	}
	d.boxes[dev] = mb
	d.mu.Unlock()
	go func() {
		q, err := d.store.DeviceQueue(d.runCtx, dev)
		if err != nil {
			d.log.Error("reading a device queue", "device", dev, "err", err)
		}
		var items []outItem
		for _, m := range q.Messages {
			items = append(items, msgItems(m, 0)...)
		}
		for i := range q.Receipts {
			r := q.Receipts[i]
			items = append(items, outItem{topic: "receipt", payload: messaging.EncodeReceipt(r.Message, r.User, r.State, r.At), receipt: &r})
		}
		for i := range q.Cmds {
			c := q.Cmds[i]
			items = append(items, outItem{topic: "cmd", payload: messaging.EncodeRecallCmd(c.Message), cmd: &c})
		}
		// A message committed while the queue was read can be both in it and
		// held: send it once. After this, each message is pushed once.
		loaded := map[string]bool{}
		for _, m := range q.Messages {
			loaded[m.ID] = true
		}
		mb.mu.Lock()
		for _, it := range mb.held {
			if it.msgID == "" || !loaded[it.msgID] {
				items = append(items, it)
			}
		}
		mb.items = append(mb.items, items...)
		mb.held, mb.loading = nil, false
		mb.mu.Unlock()
		d.kick(mb)
	}()
}

// offline closes a device's mailbox; what it still held stays in the store.
func (d *deliveries) offline(dev string) {
	d.mu.Lock()
	mb := d.boxes[dev]
	delete(d.boxes, dev)
	d.mu.Unlock()
	if mb != nil {
		mb.close()
	}
}

func (mb *mailbox) close() {
	mb.mu.Lock()
	mb.closed, mb.items, mb.held = true, nil, nil
	mb.mu.Unlock()
}

// push adds items for a device if it is connected; otherwise they wait in
// the store for its next connection.
func (d *deliveries) push(dev string, items ...outItem) {
	d.mu.Lock()
	mb := d.boxes[dev]
	d.mu.Unlock()
	if mb == nil {
		return
	}
	mb.mu.Lock()
	if mb.closed {
		mb.mu.Unlock()
		return
	}
	if mb.loading {
		mb.held = append(mb.held, items...)
	} else {
		mb.items = append(mb.items, items...)
	}
	mb.mu.Unlock()
	d.kick(mb)
}

// kick starts the mailbox's drain unless it runs.
func (d *deliveries) kick(mb *mailbox) {
	mb.mu.Lock()
	if mb.running || mb.loading || len(mb.items) == 0 || mb.closed {
		mb.mu.Unlock()
		return
	}
	mb.running = true
	mb.mu.Unlock()
	go d.drain(mb)
}

// drainBatch is how many items a drain writes at once (one system call).
const drainBatch = 64

// drain writes a mailbox's items in order until it is empty or the device
// is gone, several at a time.
func (d *deliveries) drain(mb *mailbox) {
	for {
		mb.mu.Lock()
		if len(mb.items) == 0 || mb.closed {
			mb.running = false
			mb.mu.Unlock()
			return
		}
		batch := append([]outItem(nil), mb.items[:min(len(mb.items), drainBatch)]...)
		mb.items = mb.items[len(batch):]
		mb.mu.Unlock()
		out := make([]broker.Outgoing, len(batch))
		for i, it := range batch {
			topic := broker.InTopic(mb.device, it.topic)
			if it.full {
				topic = it.topic
			}
			out[i] = broker.Outgoing{Topic: topic, Payload: it.payload, CorrelationData: it.corr}
		}
		ctx, cancel := context.WithTimeout(d.runCtx, 30*time.Second)
		n, err := d.net.DeliverBatch(ctx, mb.device, out)
		cancel()
		d.delivered.Add(uint64(n))
		for _, it := range batch[:n] {
			if it.written != nil {
				it.written()
			}
			if it.receipt != nil || it.cmd != nil {
				d.mu.Lock()
				d.written = append(d.written, store.Notice{Device: mb.device, Receipt: it.receipt, Cmd: it.cmd})
				d.mu.Unlock()
			}
		}
		if err != nil {
			if !errors.Is(err, broker.ErrNotConnected) && !errors.Is(err, context.Canceled) {
				d.log.Warn("delivery to a device failed", "device", mb.device, "err", err)
			}
			mb.close() // the rest waits in the store for the next connection
			mb.mu.Lock()
			mb.running = false
			mb.mu.Unlock()
			return
		}
		if n < len(batch) { // the device's window filled up: the rest go first next time
			mb.mu.Lock()
			mb.items = append(batch[n:len(batch):len(batch)], mb.items...)
			mb.mu.Unlock()
		}
	}
}

// runDrops removes written receipts and commands from the store in one
// command every quarter second, rather than one per notice.
func (d *deliveries) runDrops(ctx context.Context) error {
	return every(ctx, 250*time.Millisecond, func() {
		d.mu.Lock()
		batch := d.written
		d.written = nil
		d.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), 512)
			cmd := store.DropNotices{By: audit.System, Notices: batch[:n]}
			batch = batch[n:]
			d.store.Submit(cmd, func(err error) {
				if err != nil {
					d.log.Warn("dropping delivered notices from the store", "err", err)
				}
			})
		}
	})
}

// msgItems are the in/msg and in/notify of a message for a recipient.
func msgItems(m messaging.Message, unread int64) []outItem {
	items := []outItem{{topic: "msg", payload: messaging.EncodeMsg(m), msgID: m.ID}}
	if unread > 0 {
		items = append(items, outItem{topic: "notify", payload: messaging.EncodeNotify(m.ID, m.Priority, int(unread))})
	}
	return items
}

// sent hands a committed message to its recipients' connected devices and
// starts the repeats of a critical one.
func (d *deliveries) sent(c *store.SendMessage) {
	if c.Duplicate {
		return
	}
	d.web.sent(c)
	for _, dl := range c.Deliveries {
		d.push(dl.Device, msgItems(c.Result, c.Unread[dl.User])...)
	}
	if c.Result.Priority == messaging.Critical {
		now := d.now()
		d.mu.Lock()
		for _, login := range c.Result.Recipients {
			if d.critical[login] == nil {
				d.critical[login] = map[string]time.Time{}
			}
			d.critical[login][c.Result.ID] = now
		}
		d.mu.Unlock()
	}
}

// acked passes a state change on to the sender's devices and stops the
// repeats of a critical message once read.
func (d *deliveries) acked(c *store.AckMessage) {
	if !c.Changed {
		return
	}
	d.web.acked(c)
	r := c.Receipt
	for _, dev := range c.SenderDevices {
		d.push(dev, outItem{topic: "receipt", payload: messaging.EncodeReceipt(r.Message, r.User, r.State, r.At), receipt: &r})
	}
	if r.State == messaging.Read {
		d.mu.Lock()
		delete(d.critical[r.User], r.Message)
		d.mu.Unlock()
	}
}

// recalled tells the recipients' devices to delete a message.
func (d *deliveries) recalled(c *store.RecallMessage) {
	for _, dev := range c.Devices {
		cmd := store.DeviceCmd{Cmd: messaging.CmdRecall, Message: c.ID}
		d.push(dev, outItem{topic: "cmd", payload: messaging.EncodeRecallCmd(c.ID), cmd: &cmd})
	}
	d.mu.Lock()
	for _, msgs := range d.critical {
		delete(msgs, c.ID)
	}
	d.mu.Unlock()
}

// wipe tells a connected device to erase everything, then disconnects it
// within a second whatever it does. It reports whether the wipe was sent.
func (d *deliveries) wipe(ctx context.Context, dev string) bool {
	d.offline(dev)
	ctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	defer cancel()
	err := d.net.Deliver(ctx, dev, broker.Outgoing{Topic: broker.InTopic(dev, "cmd"), Payload: messaging.EncodeCmd(messaging.CmdWipe)})
	if err == nil {
		time.Sleep(50 * time.Millisecond) // let the write reach the device before the close
	}
	d.net.Disconnect(dev)
	return err == nil
}

// runRepeats re-sends the notify of each unread critical message every
// repeat interval until it is read, resuming after a restart from the store.
func (d *deliveries) runRepeats(ctx context.Context) error {
	pending, err := d.store.CriticalUnread(ctx)
	if err != nil {
		return err
	}
	now := d.now()
	d.mu.Lock()
	for login, ids := range pending {
		if d.critical[login] == nil {
			d.critical[login] = map[string]time.Time{}
		}
		for _, id := range ids {
			d.critical[login][id] = now.Add(-d.repeatEvery()) // due now: the device may have missed it
		}
	}
	d.mu.Unlock()
	return every(ctx, min(d.repeatEvery()/4, 5*time.Second), d.repeatDue)
}

// repeatDue sends the notifies that are due.
func (d *deliveries) repeatDue() {
	now := d.now()
	type due struct{ login, id string }
	var list []due
	d.mu.Lock()
	for login, msgs := range d.critical {
		for id, last := range msgs {
			if now.Sub(last) >= d.repeatEvery() {
				msgs[id] = now
				list = append(list, due{login, id})
			}
		}
		if len(msgs) == 0 {
			delete(d.critical, login)
		}
	}
	d.mu.Unlock()
	for _, x := range list {
		devs, err := d.store.UserDevices(x.login)
		if err != nil {
			continue
		}
		unread := int(max(d.store.UnreadCount(x.login), 1))
		for _, dev := range devs {
			d.push(dev, outItem{topic: "notify", payload: messaging.EncodeNotify(x.id, messaging.Critical, unread)})
		}
	}
}

// mailboxes counts the devices with an open mailbox (connected and
// subscribed), and the items waiting in them.
func (d *deliveries) mailboxes() (boxes, waiting int) {
	d.mu.Lock()
	list := make([]*mailbox, 0, len(d.boxes))
	for _, mb := range d.boxes {
		list = append(list, mb)
	}
	d.mu.Unlock()
	for _, mb := range list {
		mb.mu.Lock()
		waiting += len(mb.items) + len(mb.held)
		mb.mu.Unlock()
	}
	return len(list), waiting
}
