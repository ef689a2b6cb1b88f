package broker

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// guard holds what every guarded connection shares.
type guard struct {
	maxPacket    int           // largest packet accepted, fixed header included
	writeTimeout time.Duration // bound of every write; 0 = none (tests only)
	log          *slog.Logger  // for malformed packets: remote, client id, reason
	malformed    *atomic.Int64 // count of connections closed for a malformed packet
}

// guardConn sits between a network connection and mochi. Its Read frames
// the inbound byte stream into MQTT packets and passes a packet on only
// after checkPacket accepted it; on a malformed or oversized packet it
// sends an MQTT 5 DISCONNECT 0x81 (when the client spoke MQTT 5), and
// from then on Read returns an error, which makes mochi close the
// connection. mochi therefore never decodes a malformed packet.
//
// Its Write has a deadline of its own (guard.writeTimeout) and closes the
// connection when a write fails, so that a device that stops reading
// cannot block a writer (mochi's Client.WritePacket holds the client's
// lock while it writes) for longer than that; SetDeadline therefore sets
// only the read deadline (mochi calls it with the keep-alive, or with no
// deadline at all, and must not lift a write's deadline).
type guardConn struct {
	net.Conn
	g       *guard
	in      *bufio.Reader
	st      protoState
	pkt     []byte // the current validated packet
	off     int    // bytes of pkt already handed to mochi
	err     error  // sticky read error
	wmu     sync.Mutex
	close   sync.Once
	onClose func()
}

func newGuardConn(c net.Conn, g *guard, onClose func()) *guardConn {
	return &guardConn{Conn: c, g: g, in: bufio.NewReaderSize(c, 1024), onClose: onClose}
}

// Read implements net.Conn.
func (c *guardConn) Read(p []byte) (int, error) {
	if c.off < len(c.pkt) {
		n := copy(p, c.pkt[c.off:])
		c.off += n
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if err := c.next(); err != nil {
		c.err = err
		if errors.Is(err, errMalformed) {
			c.g.malformed.Add(1)
			c.g.log.Warn("closing connection on malformed packet",
				"remote", c.RemoteAddr().String(), "client", c.st.clientID, "reason", err.Error())
			if c.st.v5() {
				c.disconnectMalformed()
			}
		}
		return 0, err
	}
	n := copy(p, c.pkt)
	c.off = n
	return n, nil
}

// next reads and checks one whole packet into c.pkt.
func (c *guardConn) next() error {
	hdr, err := c.in.ReadByte()
	if err != nil {
		return err
	}
	var lenBuf [4]byte
	rem, nLen := 0, 0
	for {
		b, err := c.in.ReadByte()
		if err != nil {
			return err
		}
		if nLen == 4 {
			return malformed("variable byte integer longer than 4 bytes")
		}
		lenBuf[nLen] = b
		rem |= int(b&0x7f) << (7 * nLen)
		nLen++
		if b&0x80 == 0 {
			break
		}
	}
	total := 1 + nLen + rem
	if total > c.g.maxPacket {
		return malformed("packet of %d bytes exceeds %d", total, c.g.maxPacket)
	}
	if cap(c.pkt) < total {
		c.pkt = make([]byte, total)
	}
	c.pkt = c.pkt[:total]
	c.pkt[0] = hdr
	copy(c.pkt[1:], lenBuf[:nLen])
	if _, err := io.ReadFull(c.in, c.pkt[1+nLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	c.off = 0
	if err := checkPacket(&c.st, hdr, c.pkt[1+nLen:]); err != nil {
		c.pkt = c.pkt[:0]
		return err
	}
	return nil
}

// disconnectMalformed tells an MQTT 5 client why it is being dropped.
func (c *guardConn) disconnectMalformed() {
	_, _ = c.Write([]byte{typeDisconnect << 4, 1, 0x81})
}

// Write implements net.Conn; it serialises whole writes so that the
// guard's DISCONNECT never interleaves with a packet mochi is writing,
// bounds each by the write timeout, and closes the connection when one
// fails (a timed-out TLS or WebSocket connection is unusable anyway).
func (c *guardConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.g.writeTimeout > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.g.writeTimeout))
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		_ = c.Close()
	}
	return n, err
}

// SetDeadline implements net.Conn: it sets the read deadline only; every
// Write sets its own deadline.
func (c *guardConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

// Close implements net.Conn.
func (c *guardConn) Close() error {
	err := c.Conn.Close()
	c.close.Do(func() {
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// TLSConnectionState returns the TLS state of the underlying connection,
// if it is a TLS connection.
func (c *guardConn) TLSConnectionState() (tls.ConnectionState, bool) {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}
