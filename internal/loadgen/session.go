package loadgen

import (
	"errors"
	"io"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho/session/state"
	"github.com/eclipse/paho.golang/paho/store/memory"
)

// A bench device's paho session keeps its outgoing publishes in a store so
// that it could send them again on a later connection. A bench device never
// connects again (a paho.Client connects once, and a lost connection is
// counted, not mended), so the default in-memory store's copy of every
// publish it sends, serialised for the purpose, is work for nothing. The
// session otherwise works as paho's default one: packet ids, the Receive
// Maximum quota, PUBACK matching and QoS 2 state (server store) are all
// paho's own.

// errNoResend is what unsentStore answers when asked for a packet.
var errNoResend = errors.New("bench devices never resend: their publishes are not kept")

// unsentStore is a paho client store that keeps nothing: every Get fails
// and List is empty, which is what the store of a session that is never
// resumed would hold at the only moment paho reads it (the CONNACK of the
// first connection).
type unsentStore struct{}

func (unsentStore) Put(uint16, byte, io.WriterTo) error { return nil }
func (unsentStore) Get(uint16) (io.ReadCloser, error)   { return nil, errNoResend }
func (unsentStore) Delete(uint16) error                 { return nil }
func (unsentStore) Quarantine(uint16) error             { return nil }
func (unsentStore) List() ([]uint16, error)             { return nil, nil }
func (unsentStore) Reset() error                        { return nil }

// deviceSession is the session state of a bench device: paho's own, with
// unsentStore for the publishes it sends, and counting on conn.acksDue the
// received QoS 1 publishes whose PUBACK is still to be written (see
// packetConn). The caller closes it when the connection is gone, as paho
// does with the session it makes itself, so that publishes still waiting
// for their PUBACK return.
type deviceSession struct {
	*state.State
	conn *packetConn
}

func newDeviceSession(conn *packetConn) *deviceSession {
	return &deviceSession{State: state.New(unsentStore{}, memory.New()), conn: conn}
}

// PacketReceived implements session.SessionManager. paho's State passes
// every QoS 1 PUBLISH with a packet id on to the handler, which paho then
// Acks.
func (s *deviceSession) PacketReceived(recv *packets.ControlPacket, pubs chan<- *packets.Publish) error {
	if pb, ok := recv.Content.(*packets.Publish); ok && pb.QoS == 1 && pb.PacketID != 0 {
		s.conn.acksDue.Add(1)
	}
	return s.State.PacketReceived(recv, pubs)
}

// Ack implements session.SessionManager: it writes the PUBACK (QoS 1).
func (s *deviceSession) Ack(pb *packets.Publish) error {
	if pb.QoS == 1 && pb.PacketID != 0 {
		s.conn.acksDue.Add(-1) // before the write, which must not wait for itself
	}
	return s.State.Ack(pb)
}
