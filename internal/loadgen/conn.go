package loadgen

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// packetConn is the connection a bench device gives paho. It exists to
// keep the client's system calls per message few, so that the bench takes
// as little CPU as it can from the appliance on the same cores:
//
//   - Reads go through a buffer: paho reads a packet's fixed header a byte
//     at a time, which unbuffered costs a system call per byte.
//   - Each packet goes out in one write. paho writes a packet as up to four
//     slices (net.Buffers) under the connection's lock (it is a
//     sync.Locker); on anything but a bare *net.TCPConn that is one write,
//     and one TCP segment, per slice. packetConn gathers the slices while
//     the lock is held and writes them when it is released.
//   - Packets released while another goroutine's write is in progress are
//     appended and go out with that goroutine's next write (the way a group
//     commit shares an fsync), so a burst of publishes and PUBACKs costs one
//     system call, and no packet ever waits for a timer.
//   - A PUBACK is held back, up to maxHeldAcks of them, while the device
//     has more received publishes queued for its handler (acksDue, kept by
//     deviceSession): their PUBACKs follow within microseconds, and all go
//     out in one write with the last of them (or with any other packet).
//     With holdPublishes (a device that only receives, whose only
//     publishes are its out/acks) a PUBLISH is held back the same way: the
//     handler of an in/msg waits (ackWriteWait at most) until the out/ack
//     it queued is released (published), so that the out/ack and the
//     PUBACK of the in/msg go out together.
//
// Every Write must come between Lock and Unlock, as paho's
// packets.ControlPacket.WriteTo does for every packet it sends.
type packetConn struct {
	net.Conn
	in *bufio.Reader

	acksDue       atomic.Int32  // received QoS 1 publishes whose PUBACK paho has yet to write
	holdPublishes bool          // hold PUBLISH packets back like PUBACKs (set before use)
	published     chan struct{} // a PUBLISH was released (buffered, 1)

	pkt sync.Mutex // held while paho writes one packet
	cur []byte     // the packet being written, under pkt

	mu       sync.Mutex
	idle     sync.Cond // signalled when a flush ends; L is &mu
	pending  []byte    // released packets not yet written
	spare    []byte    // the buffer of the last write, for reuse
	flushing bool      // a goroutine is writing pending
	held     int       // packets held back in pending
	err      error     // the first write error; later writes fail with it
}

// maxHeldAcks bounds how many PUBACKs wait for the next ones: at most the
// time the handler takes for that many publishes.
const maxHeldAcks = 16

// pubackType is the first byte of an MQTT PUBACK's fixed header, and
// publishType that of a PUBLISH without its flags.
const (
	pubackType  = 0x40
	publishType = 0x30
)

func newPacketConn(c net.Conn) *packetConn {
	pc := &packetConn{Conn: c, in: bufio.NewReaderSize(c, 4096), published: make(chan struct{}, 1)}
	pc.idle.L = &pc.mu
	return pc
}

// Read implements net.Conn.
func (c *packetConn) Read(p []byte) (int, error) { return c.in.Read(p) }

// Lock starts a packet (sync.Locker, as paho expects).
func (c *packetConn) Lock() { c.pkt.Lock() }

// Write adds p to the packet being written. The bytes reach the network
// when the packet is released; an error of an earlier write is returned
// here, and closes the connection, so paho's reader sees it too.
func (c *packetConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	c.cur = append(c.cur, p...)
	return len(p), nil
}

// Unlock ends the packet: it is written now, or, when another goroutine is
// writing, with that goroutine's next write.
func (c *packetConn) Unlock() {
	var kind byte
	if len(c.cur) > 0 {
		kind = c.cur[0]
	}
	publish := kind&0xF0 == publishType
	holdable := kind == pubackType || publish && c.holdPublishes
	c.mu.Lock()
	c.pending = append(c.pending, c.cur...)
	c.cur = c.cur[:0]
	c.pkt.Unlock()
	if publish {
		select {
		case c.published <- struct{}{}:
		default:
		}
	}
	if c.flushing {
		c.mu.Unlock()
		return
	}
	if holdable && c.held < maxHeldAcks && c.acksDue.Load() > 0 {
		c.held++ // the next PUBACK, at the latest, writes it
		c.mu.Unlock()
		return
	}
	c.held = 0
	c.flushing = true
	for len(c.pending) > 0 && c.err == nil {
		buf := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		c.spare = buf[:0]
		if err != nil {
			c.err = err
			c.pending = c.pending[:0]
			_ = c.Conn.Close()
		}
	}
	c.flushing = false
	c.idle.Broadcast()
	c.mu.Unlock()
}

// closeWriteWait bounds how long Close waits for a write in progress.
const closeWriteWait = 2 * time.Second

// Close implements net.Conn: it lets a write in progress finish (at most
// closeWriteWait), so that a DISCONNECT released just before is sent.
func (c *packetConn) Close() error {
	c.mu.Lock()
	if c.flushing {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(closeWriteWait))
		for c.flushing {
			c.idle.Wait()
		}
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
