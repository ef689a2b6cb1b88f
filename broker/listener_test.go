package broker

import (
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestListenerRecoversPanic: a panic in one connection's goroutine is
// recovered, counted, closes that connection and leaves the listener serving.
func TestListenerRecoversPanic(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open, panics, malformed atomic.Int64
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := &connListener{id: "t", ln: ln, guard: &guard{maxPacket: maxPacketSize, log: log, malformed: &malformed},
		open: &open, maxOpen: 10, panics: &panics, log: log, conns: map[*guardConn]struct{}{}}
	served := make(chan struct{})
	go func() {
		defer close(served)
		l.Serve(func(_ string, c net.Conn) error {
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(connectPacket(5, "dev_a", "dev_a", "s"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("connection not closed after panic")
		}
		c.Close()
	}
	if got := panics.Load(); got != 2 {
		t.Errorf("panics = %d, want 2", got)
	}
	l.Close(func(string) {})
	<-served
	if got := open.Load(); got != 0 {
		t.Errorf("open = %d after Close", got)
	}
}

func TestListenerConnectionCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open, panics, malformed atomic.Int64
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := &connListener{id: "t", ln: ln, guard: &guard{maxPacket: maxPacketSize, log: log, malformed: &malformed},
		open: &open, maxOpen: 1, panics: &panics, log: log, conns: map[*guardConn]struct{}{}}
	release := make(chan struct{})
	go l.Serve(func(_ string, c net.Conn) error { <-release; return nil })
	defer func() { close(release); l.Close(func(string) {}) }()

	first, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	second, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("second connection: %v, want EOF (refused over the cap)", err)
	}
}
