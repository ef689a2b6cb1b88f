package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"
)

var (
	// ErrNotConnected means the device has no connection, or none that is
	// subscribed to the topic; the appliance keeps the message and delivers
	// it again after Online. A connection that failed during Deliver is
	// reported with this error too.
	ErrNotConnected = errors.New("broker: device not connected")
	// ErrTooLarge means the message exceeds the Maximum Packet Size the
	// device set in its CONNECT; it can never be delivered to that connection.
	ErrTooLarge = errors.New("broker: message exceeds the device's maximum packet size")
	// ErrTopic means an Outgoing topic that is not a topic name below the
	// device's wl/v1/{id}/in/.
	ErrTopic = errors.New("broker: not a topic below the device's in/")
)

// Outgoing is a message from the appliance to one device.
type Outgoing struct {
	Topic           string // wl/v1/{id}/in/{name}; see InTopic
	Payload         []byte
	CorrelationData []byte // MQTT 5 only; dropped for MQTT 3.1.1 devices
	Dup             bool   // a redelivery of a message sent before
}

// InTopic returns the device's in/ topic called name: "wl/v1/{id}/in/{name}".
func InTopic(deviceID, name string) string { return topicRoot + deviceID + "/in/" + name }

// Deliver publishes m to a connected device at QoS 1 (QoS 0 if the device
// subscribed only at QoS 0) by writing the PUBLISH itself, with a packet
// id of its own, never through mochi's inflight map.
//
// It returns ErrNotConnected when the device has no connection or no
// subscription matching m.Topic. It blocks while the device's window of
// unacknowledged publishes is full, until the device acknowledges one
// (nil then), ctx is done (ctx.Err()) or the connection ends
// (ErrNotConnected). A write that does not finish within the write
// timeout (Options.WriteTimeout) fails the connection, which is closed,
// and Deliver returns ErrNotConnected. Deliver returns once the PUBLISH is
// written, not when the device acknowledges it: the device API's out/ack
// reports delivery. Concurrent calls for one device may reach it in any
// order; deliver from one goroutine per device to keep an order.
func (b *Broker) Deliver(ctx context.Context, deviceID string, m Outgoing) error {
	if !maySubscribe(deviceID, m.Topic) || strings.ContainsAny(m.Topic, "+#") {
		return fmt.Errorf("%w: %q", ErrTopic, m.Topic)
	}
	c := b.conns.get(deviceID)
	if c == nil {
		return ErrNotConnected
	}
	qos, subIDs, ok := c.subscription(m.Topic)
	if !ok {
		return ErrNotConnected
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos, Dup: m.Dup && qos > 0},
		TopicName:   m.Topic,
		Payload:     m.Payload,
	}
	if c.v5 {
		pk.Properties.CorrelationData = m.CorrelationData
		pk.Properties.SubscriptionIdentifier = subIDs
	}
	if qos > 0 {
		id, err := c.acquire(ctx)
		if err != nil {
			return err
		}
		pk.PacketID = id
	}
	err := c.cl.WritePacket(pk)
	if err == nil {
		return nil
	}
	if qos > 0 {
		c.release(pk.PacketID)
	}
	if errors.Is(err, packets.ErrPacketTooLarge) {
		return fmt.Errorf("%w: %s", ErrTooLarge, m.Topic)
	}
	c.fail(err)
	return fmt.Errorf("%w: write to %s: %v", ErrNotConnected, deviceID, err)
}

// DeliverBatch writes several messages to one device as Deliver would,
// encoded into one buffer and written with one write: a device that is owed
// a message and its notification, or a backlog after reconnecting, costs
// one system call instead of many. It returns how many of ms were written
// (a prefix; fewer than all, with a nil error, when the window filled up:
// the caller sends the rest next) and the error that stopped it, if any.
func (b *Broker) DeliverBatch(ctx context.Context, deviceID string, ms []Outgoing) (int, error) {
	c := b.conns.get(deviceID)
	if c == nil {
		return 0, ErrNotConnected
	}
	buf := batchBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer putBatchBuf(buf)
	var ids []uint16
	n := 0
	var stop error
	for _, m := range ms {
		if !maySubscribe(deviceID, m.Topic) || strings.ContainsAny(m.Topic, "+#") {
			stop = fmt.Errorf("%w: %q", ErrTopic, m.Topic)
			break
		}
		qos, subIDs, ok := c.subscription(m.Topic)
		if !ok {
			stop = ErrNotConnected
			break
		}
		pk := packets.Packet{
			FixedHeader:     packets.FixedHeader{Type: packets.Publish, Qos: qos, Dup: m.Dup && qos > 0},
			TopicName:       m.Topic,
			Payload:         m.Payload,
			ProtocolVersion: c.cl.Properties.ProtocolVersion,
		}
		pk.Mods.MaxSize = c.cl.Properties.Props.MaximumPacketSize
		pk.Mods.AllowResponseInfo = true
		if c.v5 {
			pk.Properties.CorrelationData = m.CorrelationData
			pk.Properties.SubscriptionIdentifier = subIDs
		}
		if qos > 0 {
			// Wait for window room only for the first message: with others
			// encoded, write those first.
			var id uint16
			if n == 0 {
				var err error
				if id, err = c.acquire(ctx); err != nil {
					return 0, err
				}
			} else if id, ok = c.tryAcquire(); !ok {
				break
			}
			pk.PacketID = id
			ids = append(ids, id)
		}
		before := buf.Len()
		if err := pk.PublishEncode(buf); err != nil {
			buf.Truncate(before)
			if qos > 0 {
				c.release(pk.PacketID)
				ids = ids[:len(ids)-1]
			}
			stop = err
			break
		}
		if limit := pk.Mods.MaxSize; limit > 0 && uint32(buf.Len()-before) > limit {
			buf.Truncate(before)
			if qos > 0 {
				c.release(pk.PacketID)
				ids = ids[:len(ids)-1]
			}
			stop = fmt.Errorf("%w: %s", ErrTooLarge, m.Topic)
			break
		}
		n++
	}
	if n == 0 {
		return 0, stop
	}
	if err := c.writeRaw(buf.Bytes()); err != nil {
		for _, id := range ids {
			c.release(id)
		}
		c.fail(err)
		return 0, fmt.Errorf("%w: write to %s: %v", ErrNotConnected, deviceID, err)
	}
	return n, stop
}

// batchBufs hold DeliverBatch's encoded packets between calls: every
// delivery wrote into a new buffer before (5 % of the appliance's
// allocations at full load). A connection's Write never keeps the bytes.
var batchBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBatchBuf returns a buffer to batchBufs unless a large backlog grew it.
func putBatchBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		batchBufs.Put(b)
	}
}
