package broker

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// issue501Subscribe is the 7-byte MQTT 5 SUBSCRIBE without an options byte
// that makes mochi v2.7.9 panic in SubscribeDecode (mochi-mqtt/server#501).
const issue501Subscribe = "82 05 00 01 00 00 00"

// TestMochiStillPanicsOnIssue501 documents why the guard exists: if it
// fails, mochi's decoder no longer panics and the guard is only a second
// line of defence.
func TestMochiStillPanicsOnIssue501(t *testing.T) {
	body := unhex(t, issue501Subscribe)[2:]
	pk := packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1, Remaining: len(body)}}
	defer func() {
		if recover() == nil {
			t.Log("mochi's SubscribeDecode no longer panics on the issue 501 packet")
		}
	}()
	_ = pk.SubscribeDecode(body)
}

// TestGuardIssue501 is the regression test of security.md F1: after a
// valid MQTT 5 CONNECT, the issue 501 packet closes only that connection
// (with DISCONNECT 0x81), and the broker keeps serving.
func TestGuardIssue501(t *testing.T) {
	b := startBroker(t, Options{})
	addr := b.Addrs()[ListenerPlain]

	c := dialRaw(t, addr)
	if got := c.connack(5, "dev_a", "dev_a", "secret-a"); got != 0 {
		t.Fatalf("CONNACK %#x", got)
	}
	c.send(unhex(t, issue501Subscribe))
	h, body, err := c.readPacket()
	if err != nil || h != 0xe0 || len(body) < 1 || body[0] != 0x81 {
		t.Errorf("want DISCONNECT 0x81, got %#x %x %v", h, body, err)
	}
	c.expectClosed()

	// The same bytes on MQTT 3.1.1 (a SUBSCRIBE whose filter has no QoS byte).
	c3 := dialRaw(t, addr)
	if got := c3.connack(4, "dev_b", "dev_b", "secret-b"); got != 0 {
		t.Fatalf("CONNACK %#x", got)
	}
	c3.send(unhex(t, "82 04 00 01 00 00"))
	c3.expectClosed()

	// The broker still serves a good client, which can subscribe.
	g := dialRaw(t, addr)
	if got := g.connack(5, "dev_c", "dev_c", "secret-c"); got != 0 {
		t.Fatalf("good client CONNACK %#x", got)
	}
	g.send(packet(0x82, append(append([]byte{0, 7, 0}, mqttString("wl/v1/dev_c/in/#")...), 1)))
	h, body, err = g.readPacket()
	if err != nil || h != 0x90 || !bytes.Equal(body, []byte{0, 7, 0, 1}) {
		t.Errorf("SUBACK: %#x %x %v", h, body, err)
	}
	if s := b.Stats(); s.MalformedPackets != 2 || s.PanicsRecovered != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestGuardBriefConnect feeds the exact bytes of security.md F1 (CONNECT
// of client "test", then the SUBSCRIBE): the broker refuses the client id,
// and the packet check alone rejects the SUBSCRIBE.
func TestGuardBriefConnect(t *testing.T) {
	connect := unhex(t, "10 11 00 04 4d 51 54 54 05 02 00 3c 00 00 04 74 65 73 74")
	var st protoState
	hdr, body, _, err := splitPacket(connect, maxPacketSize)
	if err != nil || checkPacket(&st, hdr, body) != nil || !st.v5() {
		t.Fatalf("CONNECT rejected: %v", err)
	}
	hdr, body, _, err = splitPacket(unhex(t, issue501Subscribe), maxPacketSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPacket(&st, hdr, body); err == nil {
		t.Fatal("issue 501 SUBSCRIBE accepted")
	}

	b := startBroker(t, Options{})
	c := dialRaw(t, b.Addrs()[ListenerPlain])
	c.send(connect)
	c.send(unhex(t, issue501Subscribe))
	h, resp, err := c.readPacket()
	if err != nil || h != 0x20 || resp[1] != 0x85 {
		t.Errorf("CONNACK %#x %x %v, want 0x85", h, resp, err)
	}
	c.expectClosed()
}

func TestGuardFraming(t *testing.T) {
	b := startBroker(t, Options{})
	addr := b.Addrs()[ListenerPlain]
	tests := []struct {
		name  string
		bytes []byte
	}{
		{"packet before CONNECT", unhex(t, "c0 00")},
		{"varint of 5 bytes", unhex(t, "10 ff ff ff ff 01")},
		{"oversized CONNECT", unhex(t, "10 ff ff ff 7f")},
		{"CONNECT with trailing bytes", packet(0x10, append(connectPacket(5, "dev_a", "dev_a", "secret-a")[2:], 0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(tc.bytes)
			c.expectClosed()
		})
	}
	afterConnect := []struct {
		name  string
		bytes string
	}{
		{"second CONNECT", hex.EncodeToString(connectPacket(5, "dev_a", "dev_a", "secret-a"))},
		{"QoS 3 publish", "36 05 00 01 61 00 01"},
		{"CONNACK from client", "20 02 00 00"},
		{"subscribe wrong flags", "80 07 00 01 00 00 01 61 00"},
		{"subscribe filter past end", "82 06 00 01 00 00 09 61"},
		{"subscribe reserved option bits", "82 07 00 01 00 00 01 61 c1"},
		{"unsubscribe no filter", "a2 03 00 01 00"},
		{"publish props past end", "30 05 00 01 61 09 01"},
		{"publish unknown property", "30 07 00 01 61 02 7f 00 78"},
		{"oversized publish", "30 ff ff 07"},
		{"pingreq with body", "c0 01 00"},
		{"publish packet id 0", "32 05 00 01 61 00 00"},
	}
	for _, tc := range afterConnect {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			if got := c.connack(5, "dev_a", "dev_a", "secret-a"); got != 0 {
				t.Fatalf("CONNACK %#x", got)
			}
			c.send(unhex(t, tc.bytes))
			c.expectClosed()
		})
	}
	if s := b.Stats(); s.PanicsRecovered != 0 || s.MalformedPackets < int64(len(tests)+len(afterConnect))-1 {
		t.Errorf("stats %+v", s)
	}
}
