package loadgen

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/messaging"
)

// ProtocolBroker is the device API on Wardline's own broker package with
// nothing stored: out/send and out/ack are decoded, answered and passed on
// in memory, with the payloads the appliance sends (the messaging
// encoders), and acknowledged at once. No store, fsync, audit event or
// encryption. Comparing it with the appliance measures what durability
// costs; comparing it with the bare BaselineBroker measures what the
// device protocol costs (three times the packets, JSON, the broker's
// guards and windows).
//
// It knows the devices it was started with and nothing else; a message to
// a device that is not connected is dropped (nothing waits for it). A
// message is forgotten once each of its recipients has acknowledged it:
// a later out/ack of it is refused as not found.
type ProtocolBroker struct {
	api    *memoryAPI
	cancel context.CancelFunc
	exited chan error
	addr   string
}

// protocolMaxConnections is the appliance's default mqtt.max_connections.
const protocolMaxConnections = 50_000

// StartProtocol starts a protocol broker on 127.0.0.1 and a free port for
// devices (from ProtocolDevices). When groupSize > 0 it knows the group
// GroupName(groupSize), whose members are the first groupSize devices'
// users, as Setup makes it on the appliance.
func StartProtocol(devices []Device, groupSize int) (*ProtocolBroker, error) {
	if groupSize < 0 || groupSize > len(devices) {
		return nil, fmt.Errorf("protocol broker: group size must be 0 to the number of devices (%d)", len(devices))
	}
	api := newMemoryAPI(devices, groupSize)
	b, err := broker.New(broker.Options{
		PlainAddr:      "127.0.0.1:0",
		Auth:           api,
		Handler:        api,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
		MaxConnections: max(protocolMaxConnections, len(devices)),
	})
	if err != nil {
		return nil, fmt.Errorf("protocol broker: %w", err)
	}
	api.net = b
	ctx, cancel := context.WithCancel(context.Background())
	api.ctx = ctx
	p := &ProtocolBroker{api: api, cancel: cancel, exited: make(chan error, 1)}
	go func() { p.exited <- b.Run(ctx) }()
	select {
	case <-b.Ready():
	case err := <-p.exited:
		cancel()
		return nil, fmt.Errorf("protocol broker: %w", err)
	}
	p.addr = b.Addrs()[broker.ListenerPlain]
	return p, nil
}

// Addr is the broker's address, host:port.
func (p *ProtocolBroker) Addr() string { return p.addr }

// Close disconnects the devices and stops the broker and its deliveries.
func (p *ProtocolBroker) Close() error {
	p.cancel()
	return <-p.exited
}

// ProtocolDevices returns n devices for a protocol run: ids
// dev_bench-d00001... (the broker takes only dev_ ids), users as Setup
// names them, and a fixed secret (the broker checks it).
func ProtocolDevices(n int) []Device {
	out := make([]Device, n)
	for i := range out {
		out[i] = Device{ID: fmt.Sprintf("dev_bench-d%05d", i+1), Secret: "bench", User: UserLogin(i)}
	}
	return out
}

// deliverBatch is how many publishes an outbox writes at once, as the
// appliance's mailboxes do.
const deliverBatch = 64

// memoryAPI answers the device API's out/send and out/ack in memory. It
// implements broker.Authenticator and broker.Handler.
type memoryAPI struct {
	net interface {
		DeliverBatch(ctx context.Context, deviceID string, ms []broker.Outgoing) (int, error)
	}
	ctx     context.Context
	secret  map[string]string   // device -> secret
	login   map[string]string   // device -> its user's login
	devices map[string][]string // login -> devices
	groups  map[string][]string // group -> member logins
	now     func() time.Time

	mu     sync.Mutex
	boxes  map[string]*outbox     // connected device -> what it is owed
	sent   map[string]*sentRecord // message id -> what its acks need
	convs  map[string]string      // participants -> conversation id
	unread map[string]int         // login -> messages not yet read
}

// sentRecord is what an out/ack of a message needs: whom to tell, and how
// far each recipient has got.
type sentRecord struct {
	from    string
	to      []string // recipient logins
	state   []messaging.State
	pending int // recipients that have not acknowledged yet
}

func newMemoryAPI(devs []Device, groupSize int) *memoryAPI {
	a := &memoryAPI{
		secret: map[string]string{}, login: map[string]string{}, devices: map[string][]string{},
		groups: map[string][]string{}, now: time.Now,
		boxes: map[string]*outbox{}, sent: map[string]*sentRecord{}, convs: map[string]string{}, unread: map[string]int{},
	}
	for _, d := range devs {
		a.secret[d.ID], a.login[d.ID] = d.Secret, d.User
		a.devices[d.User] = append(a.devices[d.User], d.ID)
	}
	if groupSize > 0 {
		g := GroupName(groupSize)
		for _, d := range devs[:groupSize] {
			a.groups[g] = append(a.groups[g], d.User)
		}
	}
	return a
}

var (
	_ broker.Authenticator = (*memoryAPI)(nil)
	_ broker.Handler       = (*memoryAPI)(nil)
)

// Authenticate implements broker.Authenticator: a known device with its secret.
func (a *memoryAPI) Authenticate(_ context.Context, dev string, secret []byte, _ string) error {
	want, ok := a.secret[dev]
	if !ok || subtle.ConstantTimeCompare([]byte(want), secret) != 1 {
		return broker.ErrBadCredentials
	}
	return nil
}

// Online implements broker.Handler: the device gets an outbox.
func (a *memoryAPI) Online(dev string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ob := a.boxes[dev]; ob != nil && !ob.isClosed() {
		return
	}
	ob := &outbox{dev: dev, kick: make(chan struct{}, 1)}
	a.boxes[dev] = ob
	go a.drain(ob)
}

// Offline implements broker.Handler: what the device was still owed is dropped.
func (a *memoryAPI) Offline(dev string) {
	a.mu.Lock()
	ob := a.boxes[dev]
	delete(a.boxes, dev)
	a.mu.Unlock()
	if ob != nil {
		ob.close()
	}
}

// AuthFailed implements broker.Handler.
func (a *memoryAPI) AuthFailed(string, string, string) {}

// Publish implements broker.Handler.
func (a *memoryAPI) Publish(p broker.Inbound, done func(broker.Ack)) {
	login := a.login[p.DeviceID]
	switch {
	case login == "":
		done(broker.Ack{Reason: broker.ReasonNotAuthorized})
	case p.Kind == "send":
		a.send(p, login, done)
	case p.Kind == "ack":
		a.ack(p, login, done)
	default: // out/req and out/respond are not part of the bench's load
		done(broker.Ack{Reason: broker.ReasonNotAuthorized})
	}
}

// send gives the message an id, acknowledges it, answers the sender on
// in/reply and passes in/msg and in/notify to the recipients' devices.
func (a *memoryAPI) send(p broker.Inbound, login string, done func(broker.Ack)) {
	req, merr := messaging.DecodeSend(p.Payload, 0) // 0: the largest body the API allows
	var to []string
	if merr == nil {
		to, merr = a.resolve(login, req.To)
	}
	if merr != nil {
		a.push(p.DeviceID, out(p.DeviceID, "reply", messaging.EncodeErrorReply(req.ClientRef, merr)))
		done(broker.Ack{Reason: refusalReason(merr)})
		return
	}
	now := a.now().UTC()
	m := messaging.Message{ID: messaging.NewMessageID(now), From: login, FromName: login, SenderDevice: p.DeviceID,
		ClientRef: req.ClientRef, To: req.To, Recipients: to, Body: req.Body, Priority: req.Priority,
		Patient: req.Patient, SentAt: now}
	rec := &sentRecord{from: login, to: to, state: make([]messaging.State, len(to)), pending: len(to)}
	for i := range rec.state {
		rec.state[i] = messaging.Queued
	}
	unread := make([]int, len(to))
	a.mu.Lock()
	m.Conversation = a.conversationLocked(login, to)
	a.sent[m.ID] = rec
	for i, u := range to {
		a.unread[u]++
		unread[i] = a.unread[u]
	}
	a.mu.Unlock()
	done(broker.Ack{Reason: broker.ReasonSuccess})
	a.push(p.DeviceID, out(p.DeviceID, "reply", messaging.EncodeSendReply(req.ClientRef, m.ID, m.Conversation, to)))
	msg := messaging.EncodeMsg(m)
	for i, u := range to {
		notify := messaging.EncodeNotify(m.ID, m.Priority, unread[i])
		for _, dev := range a.devices[u] {
			a.push(dev, out(dev, "msg", msg), out(dev, "notify", notify))
		}
	}
}

// resolve turns addresses into the recipients' logins, sorted, without the
// sender. Users and the bench group are known; roles are not.
func (a *memoryAPI) resolve(sender string, to []messaging.Address) ([]string, *messaging.Error) {
	if len(to) == 0 {
		return nil, messaging.Errorf(messaging.CodeNotFound, "conversation not found")
	}
	var out []string
	for _, ad := range to {
		switch {
		case ad.User != "" && a.devices[ad.User] != nil:
			out = append(out, ad.User)
		case ad.Group != "" && a.groups[ad.Group] != nil:
			out = append(out, a.groups[ad.Group]...)
		default:
			return nil, messaging.Errorf(messaging.CodeUnknownRecipient, "no such recipient")
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if i, found := slices.BinarySearch(out, sender); found {
		out = slices.Delete(out, i, i+1)
	}
	if len(out) == 0 {
		return nil, messaging.Errorf(messaging.CodeInvalid, "no recipient but the sender")
	}
	return out, nil
}

// conversationLocked returns the conversation of sender and to (sorted),
// new the first time. a.mu is held.
func (a *memoryAPI) conversationLocked(sender string, to []string) string {
	parts := append(slices.Clone(to), sender)
	slices.Sort(parts)
	key := strings.Join(parts, "\x00")
	id, ok := a.convs[key]
	if !ok {
		id = messaging.NewConversationID()
		a.convs[key] = id
	}
	return id
}

// ack records a recipient's delivery state, acknowledges it, and passes an
// in/receipt to the sender's devices when the state moved forward.
func (a *memoryAPI) ack(p broker.Inbound, login string, done func(broker.Ack)) {
	req, merr := messaging.DecodeAck(p.Payload)
	if merr != nil {
		done(broker.Ack{Reason: refusalReason(merr)})
		return
	}
	a.mu.Lock()
	rec := a.sent[req.ID]
	i := -1
	if rec != nil {
		i = slices.Index(rec.to, login)
	}
	if i < 0 {
		a.mu.Unlock()
		done(broker.Ack{Reason: refusalReason(messaging.Errorf(messaging.CodeNotFound, "no such message"))})
		return
	}
	first := rec.state[i] == messaging.Queued
	st, changed := messaging.Advance(rec.state[i], req.State)
	rec.state[i] = st
	if changed && st == messaging.Read {
		a.unread[login]--
	}
	if first {
		if rec.pending--; rec.pending == 0 {
			delete(a.sent, req.ID)
		}
	}
	a.mu.Unlock()
	done(broker.Ack{Reason: broker.ReasonSuccess})
	if changed {
		receipt := messaging.EncodeReceipt(req.ID, login, st, a.now())
		for _, dev := range a.devices[rec.from] {
			a.push(dev, out(dev, "receipt", receipt))
		}
	}
}

// refusalReason is the PUBACK reason of a refusal, as the appliance maps it.
func refusalReason(e *messaging.Error) byte {
	switch e.Code {
	case messaging.CodeForbidden:
		return broker.ReasonNotAuthorized
	case messaging.CodeRateLimited:
		return broker.ReasonQuotaExceeded
	case messaging.CodeInternal:
		return broker.ReasonUnspecified
	case messaging.CodeUnknownRecipient, messaging.CodeNotFound:
		return broker.ReasonImplementation
	}
	return broker.ReasonPayloadFormatInvalid
}

// out is a publish of payload to the device's in/ topic called name.
func out(dev, name string, payload []byte) broker.Outgoing {
	return broker.Outgoing{Topic: broker.InTopic(dev, name), Payload: payload}
}

// push queues publishes for a connected device; a device that is not
// connected gets nothing.
func (a *memoryAPI) push(dev string, ms ...broker.Outgoing) {
	a.mu.Lock()
	ob := a.boxes[dev]
	a.mu.Unlock()
	if ob == nil {
		return
	}
	ob.mu.Lock()
	if ob.closed {
		ob.mu.Unlock()
		return
	}
	ob.items = append(ob.items, ms...)
	ob.mu.Unlock()
	select {
	case ob.kick <- struct{}{}:
	default:
	}
}

// drain is the outbox's one goroutine: it writes what the device is owed,
// in order, deliverBatch at a time, until the device goes offline or the
// broker stops.
func (a *memoryAPI) drain(ob *outbox) {
	var batch []broker.Outgoing
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-ob.kick:
		}
		for {
			ob.mu.Lock()
			if ob.closed {
				ob.mu.Unlock()
				return
			}
			batch, ob.items = ob.items, batch[:0]
			ob.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for i := 0; i < len(batch); {
				n, err := a.net.DeliverBatch(a.ctx, ob.dev, batch[i:min(len(batch), i+deliverBatch)])
				if err != nil { // the connection is gone (or the broker stopped)
					ob.close()
					return
				}
				i += n
			}
			clear(batch)
		}
	}
}

// outbox is what one connected device is owed, written by its drain
// goroutine, the only one that writes to the device: the device receives
// in order, and a slow device holds up no one else.
type outbox struct {
	dev    string
	kick   chan struct{} // one buffered signal: items were added
	mu     sync.Mutex
	items  []broker.Outgoing
	closed bool
}

func (ob *outbox) close() {
	ob.mu.Lock()
	ob.closed, ob.items = true, nil
	ob.mu.Unlock()
	select { // wake the drain so that it returns
	case ob.kick <- struct{}{}:
	default:
	}
}

func (ob *outbox) isClosed() bool {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.closed
}
