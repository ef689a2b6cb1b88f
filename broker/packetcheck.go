package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MQTT control packet types (the high nibble of the first byte).
const (
	typeConnect     = 1
	typeConnack     = 2
	typePublish     = 3
	typePuback      = 4
	typePubrec      = 5
	typePubrel      = 6
	typePubcomp     = 7
	typeSubscribe   = 8
	typeSuback      = 9
	typeUnsubscribe = 10
	typeUnsuback    = 11
	typePingreq     = 12
	typePingresp    = 13
	typeDisconnect  = 14
	typeAuth        = 15
)

// errMalformed is wrapped by every error of the packet check.
var errMalformed = errors.New("malformed packet")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errMalformed}, args...)...)
}

// protoState is what the guard knows about one connection's protocol.
type protoState struct {
	connected bool   // a CONNECT has passed the check
	version   byte   // the protocol level of that CONNECT: 3, 4 (3.1.1) or 5
	clientID  string // the client id of that CONNECT, for logs
}

func (st *protoState) v5() bool { return st.version == 5 }

// splitPacket frames the first packet in data: the first byte, a
// remaining length of at most 4 bytes and that many body bytes. maxSize
// bounds the whole packet. n is the number of bytes the packet takes.
func splitPacket(data []byte, maxSize int) (hdr byte, body []byte, n int, err error) {
	if len(data) < 2 {
		return 0, nil, 0, malformed("short fixed header")
	}
	rem, lenBytes, err := uvarint(data[1:])
	if err != nil {
		return 0, nil, 0, err
	}
	total := 1 + lenBytes + rem
	if total > maxSize {
		return 0, nil, 0, malformed("packet of %d bytes exceeds %d", total, maxSize)
	}
	if len(data) < total {
		return 0, nil, 0, malformed("remaining length %d past end", rem)
	}
	return data[0], data[1+lenBytes : total], total, nil
}

// uvarint decodes an MQTT variable byte integer of at most four bytes.
func uvarint(b []byte) (v, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, malformed("truncated variable byte integer")
		}
		v |= int(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, malformed("variable byte integer longer than 4 bytes")
}

// checkPacket validates the structure of one inbound packet (first byte hdr
// and its body) so that mochi's decoders only ever see well-framed input:
// every length-prefixed field fits, a SUBSCRIBE entry has its options
// byte, property blocks end exactly where their length says. It does not
// duplicate mochi's semantic checks. On a valid CONNECT it records the
// protocol version in st.
func checkPacket(st *protoState, hdr byte, body []byte) error {
	typ, flags := hdr>>4, hdr&0x0f
	if !st.connected && typ != typeConnect {
		return malformed("packet type %d before CONNECT", typ)
	}
	c := &cursor{b: body}
	switch typ {
	case typeConnect:
		if st.connected {
			return malformed("second CONNECT")
		}
		if err := needFlags(typ, flags, 0); err != nil {
			return err
		}
		return checkConnect(st, c)
	case typePublish:
		qos := flags >> 1 & 3
		if qos == 3 {
			return malformed("PUBLISH with QoS 3")
		}
		if qos == 0 && flags&0x08 != 0 {
			return malformed("PUBLISH QoS 0 with DUP")
		}
		if _, ok := c.str(); !ok {
			return malformed("PUBLISH topic")
		}
		if qos > 0 {
			if id, ok := c.u16(); !ok || id == 0 {
				return malformed("PUBLISH packet id")
			}
		}
		if st.v5() && !c.props() {
			return malformed("PUBLISH properties")
		}
		return nil // the rest is payload
	case typePuback, typePubrec, typePubrel, typePubcomp:
		want := byte(0)
		if typ == typePubrel {
			want = 2
		}
		if err := needFlags(typ, flags, want); err != nil {
			return err
		}
		if _, ok := c.u16(); !ok {
			return malformed("ack packet id")
		}
		return checkReasonAndProps(st, c, 2)
	case typeSubscribe:
		return checkSubscribe(st, typ, flags, c)
	case typeUnsubscribe:
		return checkSubscribe(st, typ, flags, c)
	case typePingreq:
		if err := needFlags(typ, flags, 0); err != nil {
			return err
		}
		if len(body) != 0 {
			return malformed("PINGREQ with a body")
		}
		return nil
	case typeDisconnect:
		if err := needFlags(typ, flags, 0); err != nil {
			return err
		}
		return checkReasonAndProps(st, c, 0)
	case typeAuth:
		if !st.v5() {
			return malformed("AUTH before MQTT 5")
		}
		if err := needFlags(typ, flags, 0); err != nil {
			return err
		}
		return checkReasonAndProps(st, c, 0)
	default: // 0, CONNACK, SUBACK, UNSUBACK, PINGRESP: never sent by a client
		return malformed("packet type %d not accepted from a client", typ)
	}
}

func needFlags(typ, flags, want byte) error {
	if flags != want {
		return malformed("packet type %d with flags %#x", typ, flags)
	}
	return nil
}

// checkReasonAndProps checks the optional MQTT 5 tail of an ack, DISCONNECT
// or AUTH: after min bytes, either nothing, a reason code, or a reason code
// and a property block that ends the packet. MQTT 3 allows nothing more.
func checkReasonAndProps(st *protoState, c *cursor, min int) error {
	if !st.v5() {
		if c.left() != 0 {
			return malformed("trailing bytes")
		}
		return nil
	}
	if c.left() == 0 {
		return nil
	}
	c.u8() // reason code
	if c.left() == 0 {
		return nil
	}
	if !c.props() || c.left() != 0 {
		return malformed("properties")
	}
	return nil
}

func checkConnect(st *protoState, c *cursor) error {
	name, ok := c.bytes()
	if !ok {
		return malformed("CONNECT protocol name")
	}
	if string(name) != "MQTT" && string(name) != "MQIsdp" {
		return malformed("CONNECT protocol name %q", name)
	}
	level, ok := c.u8()
	if !ok {
		return malformed("CONNECT protocol level")
	}
	flags, ok := c.u8()
	if !ok {
		return malformed("CONNECT flags")
	}
	if _, ok := c.u16(); !ok {
		return malformed("CONNECT keep alive")
	}
	v5 := level == 5
	if v5 && !c.props() {
		return malformed("CONNECT properties")
	}
	id, ok := c.str()
	if !ok {
		return malformed("CONNECT client id")
	}
	if flags&0x04 != 0 { // will
		if v5 && !c.props() {
			return malformed("CONNECT will properties")
		}
		if _, ok := c.str(); !ok {
			return malformed("CONNECT will topic")
		}
		if _, ok := c.bytes(); !ok {
			return malformed("CONNECT will payload")
		}
	}
	if flags&0x80 != 0 { // user name
		if _, ok := c.bytes(); !ok {
			return malformed("CONNECT user name")
		}
	}
	if flags&0x40 != 0 { // password
		if _, ok := c.bytes(); !ok {
			return malformed("CONNECT password")
		}
	}
	if c.left() != 0 {
		return malformed("CONNECT trailing bytes")
	}
	st.connected = true
	st.version = level
	st.clientID = string(id)
	return nil
}

// checkSubscribe checks SUBSCRIBE and UNSUBSCRIBE: packet id, MQTT 5
// properties, then one or more topic filters, each followed (SUBSCRIBE
// only) by an options byte with its reserved bits clear.
func checkSubscribe(st *protoState, typ, flags byte, c *cursor) error {
	if err := needFlags(typ, flags, 2); err != nil {
		return err
	}
	if id, ok := c.u16(); !ok || id == 0 {
		return malformed("packet id")
	}
	if st.v5() && !c.props() {
		return malformed("properties")
	}
	if c.left() == 0 {
		return malformed("no topic filter")
	}
	for c.left() > 0 {
		if _, ok := c.str(); !ok {
			return malformed("topic filter length")
		}
		if typ == typeUnsubscribe {
			continue
		}
		opts, ok := c.u8()
		if !ok {
			return malformed("SUBSCRIBE without options byte")
		}
		reserved := byte(0xfc)
		if st.v5() {
			reserved = 0xc0
			if opts>>4&3 == 3 {
				return malformed("retain handling 3")
			}
		}
		if opts&reserved != 0 || opts&3 == 3 {
			return malformed("SUBSCRIBE options %#x", opts)
		}
	}
	return nil
}

// cursor reads big-endian MQTT fields from a packet body without ever
// indexing past its end.
type cursor struct {
	b   []byte
	off int
}

func (c *cursor) left() int { return len(c.b) - c.off }

func (c *cursor) u8() (byte, bool) {
	if c.left() < 1 {
		return 0, false
	}
	v := c.b[c.off]
	c.off++
	return v, true
}

func (c *cursor) u16() (uint16, bool) {
	if c.left() < 2 {
		return 0, false
	}
	v := binary.BigEndian.Uint16(c.b[c.off:])
	c.off += 2
	return v, true
}

func (c *cursor) skip(n int) bool {
	if n < 0 || c.left() < n {
		return false
	}
	c.off += n
	return true
}

// bytes reads a two-byte length and that many bytes.
func (c *cursor) bytes() ([]byte, bool) {
	n, ok := c.u16()
	if !ok || c.left() < int(n) {
		return nil, false
	}
	v := c.b[c.off : c.off+int(n)]
	c.off += int(n)
	return v, true
}

// str reads a length-prefixed string; its UTF-8 validity is mochi's concern.
func (c *cursor) str() ([]byte, bool) { return c.bytes() }

// props reads an MQTT 5 property block: a variable byte integer length and
// properties of known identifiers whose values end exactly at that length.
func (c *cursor) props() bool {
	n, used, err := uvarint(c.b[c.off:])
	if err != nil || c.left()-used < n {
		return false
	}
	p := &cursor{b: c.b[c.off+used : c.off+used+n]}
	c.off += used + n
	for p.left() > 0 {
		id, _ := p.u8()
		var ok bool
		switch id {
		case 0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a: // byte
			ok = p.skip(1)
		case 0x13, 0x21, 0x22, 0x23: // two-byte integer
			ok = p.skip(2)
		case 0x02, 0x11, 0x18, 0x27: // four-byte integer
			ok = p.skip(4)
		case 0x0b: // subscription identifier: variable byte integer
			var m int
			_, m, err = uvarint(p.b[p.off:])
			ok = err == nil && p.skip(m)
		case 0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1a, 0x1c, 0x1f: // string or binary data
			_, ok = p.bytes()
		case 0x26: // user property: string pair
			if _, ok = p.bytes(); ok {
				_, ok = p.bytes()
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
