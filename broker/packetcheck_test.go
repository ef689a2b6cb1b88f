package broker

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// packetCases are inbound packets after a CONNECT of the given version,
// with the guard's expected verdict. They seed FuzzCheckPacket.
var packetCases = []struct {
	name    string
	version byte
	hex     string
	ok      bool
}{
	{"v5 subscribe", 5, "82 09 00 01 00 00 03 61 2f 62 01", true},
	{"v5 subscribe two filters", 5, "82 0b 00 01 00 00 01 61 01 00 01 62 02", true},
	{"v5 subscribe with sub id", 5, "82 09 00 01 02 0b 05 00 01 61 01", true},
	{"v5 issue 501", 5, issue501Subscribe, false},
	{"v5 subscribe no options, longer", 5, "82 08 00 01 00 00 03 61 2f 62", false},
	{"v5 subscribe no filters", 5, "82 03 00 01 00", false},
	{"v5 subscribe props past end", 5, "82 05 00 01 05 26 00", false},
	{"v5 subscribe retain handling 3", 5, "82 07 00 01 00 00 01 61 30", false},
	{"v5 subscribe qos 3", 5, "82 07 00 01 00 00 01 61 03", false},
	{"v5 subscribe packet id 0", 5, "82 07 00 00 00 00 01 61 01", false},
	{"v5 unsubscribe", 5, "a2 06 00 01 00 00 01 61", true},
	{"v5 unsubscribe truncated filter", 5, "a2 06 00 01 00 00 05 61", false},
	{"v5 publish qos1 user property, short payload", 5, "32 0e 00 01 61 00 01 07 26 00 01 6b 00 01 76 7b", true},
	{"v5 publish user property value past props", 5, "32 0e 00 01 61 00 01 06 26 00 01 6b 00 01 76 7b", false},
	{"v5 publish qos1 user property", 5, "32 0f 00 01 61 00 01 07 26 00 01 6b 00 01 76 7b 7d", true},
	{"v5 publish qos0", 5, "30 05 00 01 61 00 78", true},
	{"v5 publish dup qos0", 5, "38 05 00 01 61 00 78", false},
	{"v5 publish topic past end", 5, "30 03 00 05 61", false},
	{"v5 puback", 5, "40 02 00 01", true},
	{"v5 puback reason", 5, "40 03 00 01 10", true},
	{"v5 puback reason props", 5, "40 04 00 01 10 00", true},
	{"v5 puback props past end", 5, "40 05 00 01 10 03 1f", false},
	{"v5 pubrel", 5, "62 02 00 01", true},
	{"v5 pubrel bad flags", 5, "60 02 00 01", false},
	{"v5 disconnect", 5, "e0 00", true},
	{"v5 disconnect reason", 5, "e0 01 04", true},
	{"v5 disconnect props", 5, "e0 07 00 05 11 00 00 00 3c", true},
	{"v5 disconnect props short", 5, "e0 06 00 05 11 00 00 00", false},
	{"v5 auth", 5, "f0 00", true},
	{"v5 pingreq", 5, "c0 00", true},
	{"v5 connack from client", 5, "20 02 00 00", false},
	{"v5 second connect", 5, "10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00", false},
	{"v3 subscribe", 4, "82 06 00 01 00 01 61 01", true},
	{"v3 subscribe no qos", 4, "82 05 00 01 00 01 61", false},
	{"v3 subscribe option bits", 4, "82 06 00 01 00 01 61 04", false},
	{"v3 unsubscribe", 4, "a2 05 00 01 00 01 61", true},
	{"v3 publish qos1", 4, "32 06 00 01 61 00 01 7b", true},
	{"v3 puback", 4, "40 02 00 01", true},
	{"v3 puback with reason", 4, "40 03 00 01 00", false},
	{"v3 auth", 4, "f0 00", false},
	{"v3 disconnect", 4, "e0 00", true},
	{"v3 disconnect with reason", 4, "e0 01 00", false},
}

// connected returns the state after a CONNECT of version v.
func connected(v byte) protoState { return protoState{connected: true, version: v} }

func TestCheckPacket(t *testing.T) {
	for _, tc := range packetCases {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			st := connected(tc.version)
			hdr, body, n, err := splitPacket(b, maxPacketSize)
			if err == nil && n != len(b) {
				err = fmt.Errorf("%d trailing bytes", len(b)-n)
			}
			if err == nil {
				err = checkPacket(&st, hdr, body)
			}
			if got := err == nil; got != tc.ok {
				t.Errorf("ok = %v (%v), want %v", got, err, tc.ok)
			}
			if err == nil {
				mochiDecode(t, tc.version, hdr, body)
			}
		})
	}
}

func TestCheckConnect(t *testing.T) {
	tests := []struct {
		name string
		pkt  []byte
		ok   bool
	}{
		{"v5", connectPacket(5, "dev_a", "dev_a", "s"), true},
		{"v3.1.1", connectPacket(4, "dev_a", "dev_a", "s"), true},
		{"v5 no credentials", connectPacket(5, "dev_a", "", ""), true},
		{"password flag but no password", connectPacket(5, "dev_a", "", "")[:0], false},
		{"truncated", connectPacket(5, "dev_a", "dev_a", "s")[:10], false},
		{"bad protocol name", unhex(t, "10 0d 00 04 4d 51 54 58 05 02 00 3c 00 00 00"), false},
		{"will without topic", unhex(t, "10 0d 00 04 4d 51 54 54 04 06 00 3c 00 01 61"), false},
		{"flags declare password", unhex(t, "10 0d 00 04 4d 51 54 54 04 42 00 3c 00 01 61"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st protoState
			hdr, body, _, err := splitPacket(tc.pkt, maxPacketSize)
			if err == nil {
				err = checkPacket(&st, hdr, body)
			}
			if got := err == nil; got != tc.ok {
				t.Errorf("ok = %v (%v), want %v", got, err, tc.ok)
			}
			if err == nil && !st.connected {
				t.Error("state not connected after CONNECT")
			}
		})
	}
}

// mochiDecode runs mochi's decoder for the packet as mochi's client.go
// does; a panic fails the test (or the fuzz run).
func mochiDecode(t testing.TB, version, hdr byte, body []byte) {
	t.Helper()
	var fh packets.FixedHeader
	if err := fh.Decode(hdr); err != nil {
		return
	}
	fh.Remaining = len(body)
	pk := packets.Packet{ProtocolVersion: version, FixedHeader: fh}
	px := append([]byte{}, body...)
	switch fh.Type {
	case packets.Connect:
		_ = pk.ConnectDecode(px)
	case packets.Disconnect:
		_ = pk.DisconnectDecode(px)
	case packets.Publish:
		_ = pk.PublishDecode(px)
	case packets.Puback:
		_ = pk.PubackDecode(px)
	case packets.Pubrec:
		_ = pk.PubrecDecode(px)
	case packets.Pubrel:
		_ = pk.PubrelDecode(px)
	case packets.Pubcomp:
		_ = pk.PubcompDecode(px)
	case packets.Subscribe:
		if pk.SubscribeDecode(px) == nil {
			_ = pk.SubscribeValidate()
		}
	case packets.Unsubscribe:
		if pk.UnsubscribeDecode(px) == nil {
			_ = pk.UnsubscribeValidate()
		}
	case packets.Auth:
		_ = pk.AuthDecode(px)
	}
}

// FuzzCheckPacket: whatever the guard lets through, mochi's decoders must
// decode without panicking; the first input byte picks MQTT 3.1.1 or 5
// (or, when odd, a fresh connection that must start with CONNECT).
func FuzzCheckPacket(f *testing.F) {
	for _, tc := range packetCases {
		b, _ := hex.DecodeString(stripSpaces(tc.hex))
		f.Add(append([]byte{tc.version << 1}, b...))
	}
	f.Add(append([]byte{1}, connectPacket(5, "dev_a", "dev_a", "s")...))
	f.Add(append([]byte{1}, connectPacket(4, "dev_a", "dev_a", "s")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		var st protoState
		if data[0]&1 == 0 {
			st = connected(4)
			if data[0]&2 != 0 {
				st = connected(5)
			}
		}
		data = data[1:]
		for len(data) > 0 {
			hdr, body, n, err := splitPacket(data, maxPacketSize)
			if err != nil {
				return
			}
			version := st.version
			if err := checkPacket(&st, hdr, body); err != nil {
				return
			}
			if hdr>>4 == typeConnect {
				version = st.version
			}
			mochiDecode(t, version, hdr, body)
			data = data[n:]
		}
	})
}

func stripSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}
