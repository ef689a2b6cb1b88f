package broker

import "context"

// maxWindow bounds the QoS 1 publishes a device may have unacknowledged,
// whatever Receive Maximum it announces.
const maxWindow = 128

// windowSize is min(the device's MQTT 5 Receive Maximum, maxWindow); an
// MQTT 3.1.1 device, or one that announced none (65535), gets maxWindow.
func windowSize(v5 bool, receiveMax uint16) int {
	if !v5 || receiveMax == 0 {
		return maxWindow
	}
	return min(int(receiveMax), maxWindow)
}

// acquire waits for a free slot in the window and allocates a packet id
// that no unacknowledged publish of this connection holds. mochi never
// allocates ids for a device connection (nothing enters its inflight
// map), so the id space is ours.
func (c *devConn) acquire(ctx context.Context) (uint16, error) {
	select {
	case <-c.closed:
		return 0, ErrNotConnected
	default:
	}
	select {
	case c.win <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-c.closed:
		return 0, ErrNotConnected
	}
	return c.allocate(), nil
}

// tryAcquire is acquire without waiting: false when the window is full or
// the connection is gone.
func (c *devConn) tryAcquire() (uint16, bool) {
	select {
	case <-c.closed:
		return 0, false
	default:
	}
	select {
	case c.win <- struct{}{}:
		return c.allocate(), true
	default:
		return 0, false
	}
}

// allocate takes a packet id for a slot already taken in the window.
func (c *devConn) allocate() uint16 {
	c.omu.Lock()
	defer c.omu.Unlock()
	for {
		c.lastID++
		if c.lastID == 0 {
			c.lastID = 1
		}
		if _, used := c.unacked[c.lastID]; !used {
			c.unacked[c.lastID] = struct{}{}
			return c.lastID
		}
	}
}

// release frees the slot of packet id when the device acknowledges it
// (or its write failed). Unknown ids are ignored.
func (c *devConn) release(id uint16) {
	c.omu.Lock()
	defer c.omu.Unlock()
	if _, ok := c.unacked[id]; ok {
		delete(c.unacked, id)
		<-c.win
	}
}
