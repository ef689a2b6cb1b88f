package broker

import (
	"encoding/hex"
	"io"
	"net"
	"testing"
	"time"
)

// pipeConn connects a client to the broker over net.Pipe, through the same
// listener path (guard, cap, recovery) as the WebSocket handler; fuzzing
// over TCP exhausts the loopback ports with TIME_WAIT sockets.
func pipeConn(t testing.TB, b *Broker) net.Conn {
	t.Helper()
	cli, srv := net.Pipe()
	select {
	case b.ws.conns <- srv:
	case <-time.After(5 * time.Second):
		t.Fatal("broker does not accept")
	}
	_ = cli.SetDeadline(time.Now().Add(5 * time.Second))
	return cli
}

// FuzzSession feeds arbitrary bytes to a live broker after a valid CONNECT
// (MQTT 5 when the first byte is odd, else 3.1.1) and checks that no
// connection goroutine panicked and the broker still accepts a device.
func FuzzSession(f *testing.F) {
	for _, tc := range packetCases {
		b, _ := hex.DecodeString(stripSpaces(tc.hex))
		f.Add(append([]byte{tc.version & 1}, b...))
	}
	f.Add([]byte{1, 0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00})
	b := startBroker(f, Options{MaxAuthFailures: 1 << 30, MaxAuthFailuresPerIP: 1 << 30})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		version := byte(4)
		if data[0]&1 == 1 {
			version = 5
		}
		c := pipeConn(t, b)
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(drained) }()
		_, _ = c.Write(append(connectPacket(version, "dev_a", "dev_a", "secret-a"), data[1:]...))
		_ = c.Close()
		<-drained
		deadline := time.Now().Add(5 * time.Second)
		for b.Stats().OpenConnections != 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
		if n := b.Stats().PanicsRecovered; n != 0 {
			t.Fatalf("%d panics recovered", n)
		}
		g := &rawConn{t, pipeConn(t, b)}
		if got := g.connack(5, "dev_b", "dev_b", "secret-b"); got != 0 {
			t.Fatalf("broker refuses a good device: %#x", got)
		}
		g.Close()
	})
}
