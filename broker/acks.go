package broker

import (
	"bytes"
	"errors"

	"github.com/mochi-mqtt/server/v2/packets"
)

// pendingAck is one inbound QoS 1 publish waiting for the appliance.
type pendingAck struct {
	id    uint16
	ready bool // done was called
	ack   Ack
}

// admission is what admit decided for an inbound QoS 1 publish.
type admission int

const (
	admitted       admission = iota // queued: hand it to the Handler
	admitDuplicate                  // its packet id is still pending: the first one will be acknowledged
	admitOverflow                   // more pending than the Receive Maximum allows
	admitGone                       // the connection is gone
)

// errRetry stops an MQTT 3.1.1 connection whose publish was not stored,
// so that the device sends it again after reconnecting.
var errRetry = errors.New("broker: publish not stored; device to resend")

// admit queues a PUBACK slot for packet id, in arrival order.
func (c *devConn) admit(id uint16) (*pendingAck, admission) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.gone {
		return nil, admitGone
	}
	for _, e := range c.acks {
		if e.id == id {
			return nil, admitDuplicate
		}
	}
	if len(c.acks) >= c.recvMax {
		return nil, admitOverflow
	}
	e := &pendingAck{id: id}
	c.acks = append(c.acks, e)
	return e, admitted
}

// doneFunc returns the done callback for e. It never blocks: the
// PUBACKs are written by a goroutine started when the head of the queue
// becomes ready, which writes it and every ready one behind it, so that
// one device that stops reading stalls no caller of done.
func (c *devConn) doneFunc(e *pendingAck) func(Ack) {
	return func(a Ack) {
		c.amu.Lock()
		if c.gone || e.ready {
			c.amu.Unlock()
			return
		}
		e.ready, e.ack = true, a
		start := !c.flushing && len(c.acks) > 0 && c.acks[0].ready
		if start {
			c.flushing = true
		}
		c.amu.Unlock()
		if start {
			go c.flushAcks()
		}
	}
}

// flushAcks writes the ready PUBACKs at the head of the queue until the
// head is not ready, all that are ready at once in one write. Only one
// flushAcks runs per connection at a time.
func (c *devConn) flushAcks() {
	var buf bytes.Buffer
	for {
		c.amu.Lock()
		n := 0
		for n < len(c.acks) && c.acks[n].ready {
			n++
		}
		if n == 0 || c.gone {
			c.flushing = false
			c.amu.Unlock()
			return
		}
		batch := make([]*pendingAck, n)
		copy(batch, c.acks)
		clear(c.acks[:n])
		c.acks = c.acks[n:]
		c.amu.Unlock()
		buf.Reset()
		var stop error
		for _, e := range batch {
			if stop = c.encodeAck(&buf, e); stop != nil {
				break
			}
		}
		err := stop
		if buf.Len() > 0 {
			if werr := c.writeRaw(buf.Bytes()); werr != nil {
				err = werr
			}
		}
		if err != nil {
			c.fail(err)
			c.close()
			c.amu.Lock()
			c.flushing = false
			c.amu.Unlock()
			return
		}
	}
}

// encodeAck appends the PUBACK for e to buf; an MQTT 3.1.1 publish to retry
// gets none and errRetry instead.
func (c *devConn) encodeAck(buf *bytes.Buffer, e *pendingAck) error {
	reason := e.ack.Reason
	if reason < 0x80 {
		reason = 0
	}
	if e.ack.Retry && reason == 0 {
		reason = ReasonUnspecified
	}
	if !c.v5 {
		if e.ack.Retry {
			c.b.log.Info("device publish not stored; disconnecting the MQTT 3.1.1 client so it resends", "device", c.id)
			return errRetry
		}
		reason = 0 // MQTT 3.1.1 has no reason codes: a plain PUBACK
	}
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Puback},
		PacketID:        e.id,
		ReasonCode:      reason,
		ProtocolVersion: c.cl.Properties.ProtocolVersion,
	}
	pk.Mods.MaxSize = c.cl.Properties.Props.MaximumPacketSize
	return pk.PubackEncode(buf)
}
