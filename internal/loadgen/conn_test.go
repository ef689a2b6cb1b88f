package loadgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// writePacket writes one test packet the way paho does: under the lock, in
// parts (header, then a body of n bytes in pieces, and an empty slice).
func writePacket(c *packetConn, writer, seq uint32, n int) error {
	var hdr [12]byte
	binary.BigEndian.PutUint32(hdr[0:], writer)
	binary.BigEndian.PutUint32(hdr[4:], seq)
	binary.BigEndian.PutUint32(hdr[8:], uint32(n))
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(writer + seq + uint32(i))
	}
	c.Lock()
	defer c.Unlock()
	for _, part := range [][]byte{hdr[:], body[:n/2], {}, body[n/2:]} {
		if _, err := c.Write(part); err != nil {
			return err
		}
	}
	return nil
}

func TestPacketConnWholePacketsInOrder(t *testing.T) {
	tests := []struct {
		name             string
		writers, packets int
		size             int
		closeAfter       bool // Close as soon as every Unlock has returned
	}{
		{"one writer", 1, 200, 40, false},
		{"concurrent writers", 16, 300, 300, false},
		{"large packets", 4, 50, 70000, false},
		{"close right after", 16, 100, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			pc := newPacketConn(client)
			got := make(chan error, 1)
			go func() { got <- readPackets(server, tt.writers, tt.packets) }()
			var wg sync.WaitGroup
			for w := range tt.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for s := range tt.packets {
						if err := writePacket(pc, uint32(w), uint32(s), tt.size+s%7); err != nil {
							t.Errorf("writer %d packet %d: %v", w, s, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if tt.closeAfter {
				if err := pc.Close(); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the packets did not all arrive")
			}
		})
	}
}

// readPackets reads writers*packets test packets from c and checks that
// each is whole and that each writer's packets come in order.
func readPackets(c net.Conn, writers, packets int) error {
	r := bufio.NewReader(c)
	next := make([]uint32, writers)
	for range writers * packets {
		var hdr [12]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		w, seq, n := binary.BigEndian.Uint32(hdr[0:]), binary.BigEndian.Uint32(hdr[4:]), binary.BigEndian.Uint32(hdr[8:])
		if int(w) >= writers || seq != next[w] {
			return errors.New("a packet out of order or torn")
		}
		next[w]++
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		for i, b := range body {
			if b != byte(w+seq+uint32(i)) {
				return errors.New("a packet's body is torn")
			}
		}
	}
	return nil
}

func TestPacketConnWriteErrorSticks(t *testing.T) {
	client, server := tcpPair(t)
	pc := newPacketConn(client)
	server.Close()
	client.(*net.TCPConn).CloseWrite() // the next write fails at once
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = writePacket(pc, 0, uint32(i), 10)
	}
	if err == nil {
		t.Fatal("writes after the connection closed kept succeeding")
	}
	if err2 := writePacket(pc, 0, 0, 10); err2 == nil {
		t.Fatal("a write after a failed one succeeded")
	}
	// paho's reader sees the failure too: the connection is closed.
	if _, err := pc.Read(make([]byte, 1)); err == nil {
		t.Fatal("a read after a failed write succeeded")
	}
}

func TestPacketConnReadsThroughBuffer(t *testing.T) {
	client, server := tcpPair(t)
	pc := newPacketConn(client)
	if _, err := server.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 6)
	for len(got) < 6 {
		var b [1]byte
		if _, err := pc.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		got = append(got, b[0])
	}
	if string(got) != "abcdef" {
		t.Fatalf("read %q", got)
	}
	if n := pc.in.Buffered(); n != 0 {
		t.Fatalf("%d bytes left in the buffer", n)
	}
}

// writeRaw writes b as one packet.
func writeRaw(t *testing.T, c *packetConn, b []byte) {
	t.Helper()
	c.Lock()
	_, err := c.Write(b)
	c.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}

// available returns how many bytes arrive on c within wait, reading no
// more than limit (or, with limit 0, one byte).
func available(t *testing.T, c net.Conn, limit int, wait time.Duration) int {
	t.Helper()
	buf := make([]byte, 4096)
	total := 0
	_ = c.SetReadDeadline(time.Now().Add(wait))
	for total < limit || limit == 0 && total == 0 {
		n, err := c.Read(buf[:min(len(buf), max(1, limit-total))])
		total += n
		if err != nil {
			break
		}
	}
	return total
}

func TestPacketConnHoldsPubacks(t *testing.T) {
	puback := []byte{pubackType, 2, 0, 1}
	publish := []byte{0x32, 5, 0, 1, 'x', 0, 1}
	tests := []struct {
		name    string
		acksDue int32  // publishes still to be acked when the first packets go
		first   []byte // written while acksDue is set; nothing must arrive yet when held
		held    bool
		then    []byte // written after acksDue is back to 0
		holdPub bool   // packetConn.holdPublishes
	}{
		{"nothing due: PUBACK at once", 0, puback, false, nil, false},
		{"due: PUBACK waits for the next", 1, puback, true, puback, false},
		{"due: two PUBACKs wait", 2, append(append([]byte{}, puback...), puback...), true, puback, false},
		{"due: a PUBLISH takes the PUBACKs along", 3, puback, true, publish, false},
		{"due: a PUBLISH is never held", 1, publish, false, nil, false},
		{"at most maxHeldAcks held", 1, bytesRepeat(puback, maxHeldAcks+1), false, nil, false},
		{"receiver: its PUBLISH waits for the PUBACK", 1, publish, true, puback, true},
		{"receiver: nothing due, PUBLISH at once", 0, publish, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			pc := newPacketConn(client)
			pc.acksDue.Store(tt.acksDue)
			pc.holdPublishes = tt.holdPub
			for i := 0; i < len(tt.first); {
				n := packetLen(tt.first[i:])
				writeRaw(t, pc, tt.first[i:i+n])
				i += n
			}
			if published := len(pc.published) == 1; published != (tt.first[0]&0xF0 == publishType) {
				t.Errorf("published signalled: %v", published)
			}
			if tt.held {
				if got := available(t, server, 0, 100*time.Millisecond); got != 0 {
					t.Fatalf("%d bytes arrived, want none yet", got)
				}
			} else if got, want := available(t, server, len(tt.first), 5*time.Second), len(tt.first); got != want {
				t.Fatalf("%d bytes arrived, want %d", got, want)
			}
			if tt.then == nil {
				return
			}
			pc.acksDue.Store(0)
			writeRaw(t, pc, tt.then)
			if got, want := available(t, server, len(tt.first)+len(tt.then), 5*time.Second), len(tt.first)+len(tt.then); got != want {
				t.Fatalf("after the last packet %d bytes arrived, want %d", got, want)
			}
		})
	}
}

// packetLen is the length of the test packet at the start of b (a
// one-byte remaining length).
func packetLen(b []byte) int { return 2 + int(b[1]) }

func bytesRepeat(b []byte, n int) []byte {
	var out []byte
	for range n {
		out = append(out, b...)
	}
	return out
}
