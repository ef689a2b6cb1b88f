package broker

import (
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// devConn is the broker's state for one established device connection
// (one mochi client): the PUBACKs it is owed (acks.go) and its window of
// QoS 1 publishes it has not acknowledged yet (window.go). It lives from
// OnSessionEstablished to OnDisconnect.
type devConn struct {
	b         *Broker
	cl        *mqtt.Client
	id        string
	v5        bool
	remote    string
	closed    chan struct{} // closed once the connection is gone
	closeOnce sync.Once

	// Inbound QoS 1 publishes waiting for the appliance (acks.go).
	amu      sync.Mutex
	acks     []*pendingAck // in arrival order
	flushing bool          // a goroutine is writing PUBACKs
	gone     bool          // the connection is gone: drop every ack
	recvMax  int           // the Receive Maximum the broker advertises

	// Outbound QoS 1 publishes the device has not acknowledged (window.go).
	win     chan struct{} // one token per unacknowledged publish
	omu     sync.Mutex
	unacked map[uint16]struct{}
	lastID  uint16

	subs subCache // which in/ topics the subscriptions match
}

func newDevConn(b *Broker, cl *mqtt.Client) *devConn {
	v5 := cl.Properties.ProtocolVersion == 5
	return &devConn{
		b:       b,
		cl:      cl,
		id:      cl.ID,
		v5:      v5,
		remote:  cl.Net.Remote,
		closed:  make(chan struct{}),
		recvMax: int(receiveMaximum),
		win:     make(chan struct{}, windowSize(v5, cl.Properties.Props.ReceiveMaximum)),
		unacked: map[uint16]struct{}{},
	}
}

// close marks the connection gone: pending PUBACKs are dropped and
// Deliver calls waiting for its window return ErrNotConnected.
func (c *devConn) close() {
	c.closeOnce.Do(func() { close(c.closed) })
	c.amu.Lock()
	c.gone = true
	c.acks = nil
	c.amu.Unlock()
}

// fail closes a connection on which a write failed or that must be
// dropped; mochi then ends it and calls OnDisconnect.
func (c *devConn) fail(err error) { c.cl.Stop(err) }

// subscription reports whether the device holds a subscription whose
// filter matches topic, the QoS to deliver it with (the highest granted,
// at most 1) and the subscription identifiers of the matching filters.
// The answer is cached per topic until the subscriptions change
// (subcache.go); callers must not change ids.
func (c *devConn) subscription(topic string) (qos byte, ids []int, ok bool) {
	gen := c.subs.gen.Load()
	if m, hit := c.subs.lookup(gen, topic); hit {
		return m.qos, m.ids, m.ok
	}
	for _, sub := range c.cl.State.Subscriptions.GetAll() {
		if !matchFilter(sub.Filter, topic) {
			continue
		}
		ok = true
		qos = max(qos, min(sub.Qos, 1))
		if sub.Identifier > 0 {
			ids = append(ids, sub.Identifier)
		}
	}
	c.subs.store(gen, topic, subMatch{qos: qos, ids: ids, ok: ok})
	return qos, ids, ok
}

// registry knows every established device connection and which one is
// current for each device id.
type registry struct {
	mu       sync.RWMutex
	current  map[string]*devConn       // device id → its newest connection
	byClient map[*mqtt.Client]*devConn // every established connection
	// events serialise Online and Offline of one device (by a hash of its
	// id), so that a takeover's Offline and Online reach the Handler in
	// the order in which the connections changed.
	events [64]sync.Mutex
}

func newRegistry() *registry {
	return &registry{current: map[string]*devConn{}, byClient: map[*mqtt.Client]*devConn{}}
}

func (r *registry) eventLock(id string) *sync.Mutex {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return &r.events[h%uint32(len(r.events))]
}

// get returns the current connection of a device, or nil.
func (r *registry) get(id string) *devConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current[id]
}

// of returns the connection state of a mochi client, or nil.
func (r *registry) of(cl *mqtt.Client) *devConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byClient[cl]
}

// established registers a new connection as the device's current one and
// reports Online if a resumed session already covers its in/msg topic.
func (b *Broker) established(cl *mqtt.Client) {
	c := newDevConn(b, cl)
	ev := b.conns.eventLock(c.id)
	ev.Lock()
	defer ev.Unlock()
	b.conns.mu.Lock()
	b.conns.current[c.id] = c
	b.conns.byClient[cl] = c
	b.conns.mu.Unlock()
	if _, _, ok := c.subscription(InTopic(c.id, "msg")); ok && b.handler != nil {
		b.handler.Online(c.id)
	}
}

// subscribed reports Online when a granted filter covers in/msg.
func (b *Broker) subscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	msg := InTopic(cl.ID, "msg")
	covered := false
	for i, f := range pk.Filters {
		if i < len(codes) && codes[i] < 0x80 && matchFilter(f.Filter, msg) {
			covered = true
		}
	}
	if !covered || b.handler == nil {
		return
	}
	ev := b.conns.eventLock(cl.ID)
	ev.Lock()
	defer ev.Unlock()
	if c := b.conns.get(cl.ID); c != nil && c.cl == cl {
		b.handler.Online(cl.ID)
	}
}

// disconnected forgets a connection and reports Offline if it was the
// device's current one (a connection taken over is not).
func (b *Broker) disconnected(cl *mqtt.Client) {
	b.conns.mu.Lock()
	c := b.conns.byClient[cl]
	delete(b.conns.byClient, cl)
	b.conns.mu.Unlock()
	if c == nil {
		return
	}
	c.close()
	ev := b.conns.eventLock(c.id)
	ev.Lock()
	defer ev.Unlock()
	b.conns.mu.Lock()
	current := b.conns.current[c.id] == c
	if current {
		delete(b.conns.current, c.id)
	}
	b.conns.mu.Unlock()
	if current && b.handler != nil {
		b.handler.Offline(c.id)
	}
}

// client returns mochi's client for a device if its connection is open.
// mochi lists a client before it sends the CONNACK, a little before
// OnSessionEstablished registers it here, so Connected and Disconnect ask
// mochi: a device that has just connected cannot slip through Disconnect.
func (b *Broker) client(deviceID string) *mqtt.Client {
	select {
	case <-b.ready:
	default:
		return nil
	}
	cl, ok := b.srv.Clients.Get(deviceID)
	if !ok || cl.Closed() {
		return nil
	}
	return cl
}

// Connected reports whether the device has an open connection.
func (b *Broker) Connected(deviceID string) bool { return b.client(deviceID) != nil }

// Disconnect closes the device's connection now; an MQTT 5 device first
// gets DISCONNECT 0x98 (administrative action). It reports whether the
// device was connected. Its session stays; Offline follows.
func (b *Broker) Disconnect(deviceID string) bool {
	cl := b.client(deviceID)
	if cl == nil {
		return false
	}
	if cl.Properties.ProtocolVersion == 5 {
		_ = b.srv.DisconnectClient(cl, packets.ErrAdministrativeAction)
	}
	cl.Stop(packets.ErrAdministrativeAction)
	return true
}

// writeRaw writes already encoded packets to the device under the client's
// write lock, so that they never interleave with mochi's own writes (which
// take the same lock). The connection's write deadline applies.
func (c *devConn) writeRaw(b []byte) error {
	if c.cl.Closed() {
		return mqtt.ErrConnectionClosed
	}
	c.cl.Lock()
	defer c.cl.Unlock()
	_, err := c.cl.Net.Conn.Write(b)
	return err
}
