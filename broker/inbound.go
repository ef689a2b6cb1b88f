package broker

import (
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// handOver gives an allowed device publish to wl/v1/{id}/out/{kind} to the
// Handler. The caller returns packets.ErrRejectPacket to mochi, which then
// sends no PUBACK, delivers nothing and never touches the client's
// inflight map or receive quota: the PUBACK is written when done is
// called (acks.go), and the Receive Maximum is enforced here.
func (b *Broker) handOver(cl *mqtt.Client, pk packets.Packet) {
	c := b.conns.of(cl)
	if c == nil {
		return // not established: cannot happen, mochi reads only after
	}
	in := Inbound{
		DeviceID: c.id,
		Kind:     strings.TrimPrefix(pk.TopicName, topicRoot+c.id+"/out/"),
		Payload:  pk.Payload,
		QoS:      min(pk.FixedHeader.Qos, 1),
		Remote:   c.remote,
	}
	if c.v5 {
		if rt := pk.Properties.ResponseTopic; maySubscribe(c.id, rt) && !strings.ContainsAny(rt, "+#") {
			in.ResponseTopic = rt
		}
		if len(pk.Properties.CorrelationData) > 0 {
			in.CorrelationData = pk.Properties.CorrelationData
		}
	}
	h := b.handler
	if h == nil {
		h = unavailable{}
	}
	if in.QoS == 0 {
		h.Publish(in, func(Ack) {})
		return
	}
	e, verdict := c.admit(pk.PacketID)
	switch verdict {
	case admitted:
		h.Publish(in, c.doneFunc(e))
	case admitOverflow:
		b.log.Warn("device exceeded the receive maximum; disconnecting", "device", c.id, "remote", c.remote, "max", c.recvMax)
		if c.v5 {
			_ = b.srv.DisconnectClient(cl, packets.ErrReceiveMaximum)
		}
		c.fail(packets.ErrReceiveMaximum)
	case admitDuplicate, admitGone:
	}
}

// unavailable stands in for a missing Handler: every publish is refused
// as not stored (MQTT 5: PUBACK 0x80; MQTT 3.1.1: no PUBACK, disconnect).
type unavailable struct{}

func (unavailable) Publish(_ Inbound, done func(Ack)) {
	done(Ack{Reason: ReasonUnspecified, Retry: true})
}
func (unavailable) Online(string)                     {}
func (unavailable) Offline(string)                    {}
func (unavailable) AuthFailed(string, string, string) {}
