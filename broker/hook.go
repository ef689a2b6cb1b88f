package broker

import (
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// deviceHook is the broker's only mochi hook: authentication (auth.go),
// the topic ACL (acl.go), the hand-over of device publishes (inbound.go),
// the device's window of unacknowledged deliveries (window.go) and its
// comings and goings (connection.go). mochi ORs the answers of all hooks,
// so no other auth or ACL hook (never auth.AllowHook) may be added.
type deviceHook struct {
	mqtt.HookBase
	b      *Broker
	authed sync.Map // *mqtt.Client accepted by onConnect, until onConnectAuthenticate
}

// ID implements mqtt.Hook.
func (h *deviceHook) ID() string { return "wardline-device" }

// Provides implements mqtt.Hook.
func (h *deviceHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnPacketRead,
		mqtt.OnSessionEstablished, mqtt.OnSubscribed, mqtt.OnUnsubscribed, mqtt.OnDisconnect:
		return true
	}
	return false
}

// OnConnect implements mqtt.Hook.
func (h *deviceHook) OnConnect(cl *mqtt.Client, pk packets.Packet) error { return h.onConnect(cl, pk) }

// OnConnectAuthenticate implements mqtt.Hook.
func (h *deviceHook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return h.onConnectAuthenticate(cl)
}

// OnACLCheck implements mqtt.Hook. mochi asks it for each SUBSCRIBE filter
// and each delivered topic (write false) and for each PUBLISH (write true).
// A refused filter gets SUBACK 0x87 (MQTT 5) or 0x80 (3.1.1); a refused
// MQTT 5 QoS 1 publish gets PUBACK 0x87. For MQTT 3.1.1 mochi would
// disconnect on a refused publish, so those are let through here and
// dropped by OnPublish, which applies the same rule to every client.
func (h *deviceHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if string(cl.Properties.Username) != cl.ID {
		return false
	}
	if write {
		if mayPublish(cl.ID, topic) || cl.Properties.ProtocolVersion < 5 {
			return true
		}
		h.b.publishRefused.Add(1)
		return false
	}
	return maySubscribe(cl.ID, topic)
}

// OnPublish implements mqtt.Hook: a device may publish only to its own out
// topics and never retained. An allowed publish goes to the Handler and
// mochi is told to reject it (packets.ErrRejectPacket: no PUBACK, no
// delivery); the PUBACK follows when the Handler is done (see handOver).
// A refused MQTT 5 publish with QoS 1 or 2 gets PUBACK 0x87; any other
// refused publish is dropped (acknowledged if QoS 1 so that an MQTT 3.1.1
// client does not resend it, never delivered). Never return a plain error
// here: mochi would still acknowledge and deliver the publish.
func (h *deviceHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, packets.ErrRejectPacket // no fan-out through mochi, ever
	}
	if string(cl.Properties.Username) == cl.ID && mayPublish(cl.ID, pk.TopicName) && !pk.FixedHeader.Retain {
		h.b.handOver(cl, pk)
		return pk, packets.ErrRejectPacket
	}
	h.b.publishRefused.Add(1)
	h.b.log.Debug("device publish refused", "device", cl.ID, "topic", pk.TopicName, "retain", pk.FixedHeader.Retain, "qos", pk.FixedHeader.Qos)
	if cl.Properties.ProtocolVersion == 5 && pk.FixedHeader.Qos > 0 {
		return pk, packets.ErrNotAuthorized
	}
	return pk, packets.CodeSuccessIgnore
}

// refusedTopic replaces the topic of a device's PUBLISH to a "$" topic. mochi
// drops such a publish before asking any hook and sends no PUBACK, so a
// QoS 1 sender would wait (MQTT 5) or resend forever (3.1.1); renamed, it
// takes the normal refusal path above. It is no topic a device may use.
const refusedTopic = "wardline/refused"

// OnPacketRead implements mqtt.Hook; see refusedTopic. A PUBACK frees a
// slot of the device's delivery window (window.go); mochi's own PUBACK
// handling then ignores the id, which is not in its inflight map. It never
// returns an error: mochi would end the connection.
func (h *deviceHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		if strings.HasPrefix(pk.TopicName, "$") {
			pk.TopicName = refusedTopic
		}
	case packets.Puback:
		if c := h.b.conns.of(cl); c != nil {
			c.release(pk.PacketID)
		}
	}
	return pk, nil
}

// OnSessionEstablished implements mqtt.Hook: the connection becomes the
// device's current one.
func (h *deviceHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.b.established(cl)
}

// OnSubscribed implements mqtt.Hook: see Handler.Online.
func (h *deviceHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	h.b.subscriptionsChanged(cl)
	h.b.subscribed(cl, pk, reasonCodes)
}

// OnDisconnect implements mqtt.Hook: see Handler.Offline.
func (h *deviceHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.b.disconnected(cl)
}
