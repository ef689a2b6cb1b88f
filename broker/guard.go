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
	maxPacket int           // largest packet accepted, fixed header included
	log       *slog.Logger  // for malformed packets: remote, client id, reason
	malformed *atomic.Int64 // count of connections closed for a malformed packet
}

// guardConn sits between a network connection and mochi. Its Read frames
// the inbound byte stream into MQTT packets and passes a packet on only
// after checkPacket accepted it; on a malformed or oversized packet it
// sends an MQTT 5 DISCONNECT 0x81 (when the client spoke MQTT 5), and
// from then on Read returns an error, which makes mochi close the
// connection. mochi therefore never decodes a malformed packet.
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
	_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte{typeDisconnect << 4, 1, 0x81})
}

// Write implements net.Conn; it serialises whole writes so that the
// guard's DISCONNECT never interleaves with a packet mochi is writing.
func (c *guardConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

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
