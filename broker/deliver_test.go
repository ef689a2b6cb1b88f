package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

func TestDeliver(t *testing.T) {
	b := startBroker(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Not connected, or connected without a matching subscription.
	if err := b.Deliver(ctx, "dev_c", Outgoing{Topic: InTopic("dev_c", "msg"), Payload: []byte("{}")}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("absent device: %v", err)
	}
	d, err := dial5(t, b, "dev_a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", "msg"), Payload: []byte("{}")}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("unsubscribed device: %v", err)
	}
	if err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_b", "msg")}); !errors.Is(err, ErrTopic) {
		t.Errorf("other device's topic: %v", err)
	}
	if err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", "#")}); !errors.Is(err, ErrTopic) {
		t.Errorf("wildcard topic: %v", err)
	}

	t.Run("v5", func(t *testing.T) {
		subscribe5(t, d, "dev_a")
		for _, dup := range []bool{false, true} {
			err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", "reply"), Payload: []byte(`{"re":"r-1"}`), CorrelationData: []byte("c-9"), Dup: dup})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-d.msgs:
				if m.Topic != "wl/v1/dev_a/in/reply" || string(m.Payload) != `{"re":"r-1"}` || m.QoS != 1 || m.Duplicate() != dup ||
					m.Properties == nil || string(m.Properties.CorrelationData) != "c-9" {
					t.Errorf("got %s dup=%v props=%+v", m, m.Duplicate(), m.Properties)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no message")
			}
		}
	})

	t.Run("v3", func(t *testing.T) {
		msgs := make(chan paho3.Message, 4)
		c := dial3(t, b, "dev_b", nil)
		if tok := c.Subscribe("wl/v1/dev_b/in/+", 1, func(_ paho3.Client, m paho3.Message) { msgs <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		for _, dup := range []bool{false, true} {
			if err := b.Deliver(ctx, "dev_b", Outgoing{Topic: InTopic("dev_b", "msg"), Payload: []byte(`{"id":"msg_1"}`), CorrelationData: []byte("x"), Dup: dup}); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-msgs:
				if m.Topic() != "wl/v1/dev_b/in/msg" || string(m.Payload()) != `{"id":"msg_1"}` || m.Qos() != 1 || m.Duplicate() != dup {
					t.Errorf("got %s %s qos %d dup %v", m.Topic(), m.Payload(), m.Qos(), m.Duplicate())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no message")
			}
		}
	})

	t.Run("QoS 0 subscription", func(t *testing.T) {
		c := dialRaw(t, b.Addrs()[ListenerPlain])
		c.connack(4, "dev_c", "dev_c", "secret-c")
		body := append([]byte{0, 1}, mqttString(InTopic("dev_c", "#"))...)
		c.send(packet(0x82, append(body, 0)))
		if h, body, err := c.readPacket(); err != nil || h != 0x90 || body[2] != 0 {
			t.Fatalf("SUBACK %#x %x %v", h, body, err)
		}
		if err := b.Deliver(ctx, "dev_c", Outgoing{Topic: InTopic("dev_c", "notify"), Payload: []byte("{}"), Dup: true}); err != nil {
			t.Fatal(err)
		}
		if h, _, topic := c.readPublish(4); h != 0x30 || topic != "wl/v1/dev_c/in/notify" {
			t.Errorf("PUBLISH %#x %q, want QoS 0 without DUP", h, topic)
		}
	})
}

// TestDeliverWindow: with Receive Maximum 2 and no acks, the third Deliver
// blocks until the device acknowledges one or ctx ends.
func TestDeliverWindow(t *testing.T) {
	b := startBroker(t, Options{})
	c := rawDevice(t, b, 5, "dev_a", connectPacketProps("dev_a", "secret-a", []byte{0x21, 0, 2}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := Outgoing{Topic: InTopic("dev_a", "msg"), Payload: []byte("{}")}
	var ids []uint16
	for range 2 {
		if err := b.Deliver(ctx, "dev_a", msg); err != nil {
			t.Fatal(err)
		}
		h, id, _ := c.readPublish(5)
		if h != 0x32 || id == 0 {
			t.Fatalf("PUBLISH %#x id %d", h, id)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Fatalf("packet id %d used twice", ids[0])
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if err := b.Deliver(short, "dev_a", msg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Deliver with a full window: %v", err)
	}
	third := make(chan error, 1)
	go func() { third <- b.Deliver(ctx, "dev_a", msg) }()
	select {
	case err := <-third:
		t.Fatalf("third Deliver returned %v with a full window", err)
	case <-time.After(200 * time.Millisecond):
	}
	c.send(pubackPacket(0xffff)) // an unknown id frees nothing
	c.quiet(100 * time.Millisecond)
	c.send(pubackPacket(ids[0]))
	select {
	case err := <-third:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("third Deliver still blocked after an ack")
	}
	if _, id, _ := c.readPublish(5); id == ids[1] {
		t.Errorf("id %d reused while unacknowledged", id)
	}
	// A blocked Deliver ends when the connection does.
	fourth := make(chan error, 1)
	go func() { fourth <- b.Deliver(ctx, "dev_a", msg) }()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-fourth:
		if !errors.Is(err, ErrNotConnected) {
			t.Errorf("Deliver on a closed connection: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Deliver still blocked after the connection closed")
	}
}

// TestDeliverWriteTimeout: a device that stops reading is disconnected
// once a write takes longer than the write timeout, and Deliver returns.
func TestDeliverWriteTimeout(t *testing.T) {
	b := startBroker(t, Options{WriteTimeout: 300 * time.Millisecond})
	c := rawDevice(t, b, 4, "dev_a", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	payload := []byte(strings.Repeat("x", 60_000))
	start := time.Now()
	var err error
	n := 0
	for ; n < 5000 && err == nil; n++ {
		err = b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", "msg"), Payload: payload})
		// Acknowledge without reading: ids are allocated 1, 2, 3, ...
		_, _ = c.Write(pubackPacket(uint16(n + 1)))
	}
	if !errors.Is(err, ErrNotConnected) {
		t.Fatalf("after %d deliveries: %v, want ErrNotConnected", n, err)
	}
	t.Logf("write timed out after %d deliveries, %v", n, time.Since(start))
	deadline := time.Now().Add(2 * time.Second)
	for b.Connected("dev_a") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.Connected("dev_a") {
		t.Error("stuck device still connected")
	}
}

// TestDeliverBatch writes several messages with one write: they arrive in
// order with distinct ids, and a batch larger than the device's window
// stops where the window is full.
func TestDeliverBatch(t *testing.T) {
	b := startBroker(t, Options{})
	c := rawDevice(t, b, 5, "dev_a", connectPacketProps("dev_a", "secret-a", []byte{0x21, 0, 3})) // Receive Maximum 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ms []Outgoing
	for i := range 5 {
		ms = append(ms, Outgoing{Topic: InTopic("dev_a", "msg"), Payload: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	n, err := b.DeliverBatch(ctx, "dev_a", ms)
	if err != nil || n != 3 {
		t.Fatalf("DeliverBatch of 5 with a window of 3: %d, %v", n, err)
	}
	seen := map[uint16]bool{}
	for i := range 3 {
		h, id, payload := readPublishPayload(c)
		if h != 0x32 || seen[id] || payload != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("publish %d: header %#x id %d payload %s", i, h, id, payload)
		}
		seen[id] = true
		c.send(pubackPacket(id))
	}
	n, err = b.DeliverBatch(ctx, "dev_a", ms[3:])
	if err != nil || n != 2 {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	for i := 3; i < 5; i++ {
		if _, _, payload := readPublishPayload(c); payload != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("publish %d: %s", i, payload)
		}
	}
	if _, err := b.DeliverBatch(ctx, "dev_nobody", ms); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("to an absent device: %v", err)
	}
}

// readPublishPayload reads an MQTT 5 QoS 1 PUBLISH without properties.
func readPublishPayload(c *rawConn) (hdr byte, id uint16, payload string) {
	c.t.Helper()
	h, body, err := c.readPacket()
	if err != nil || h>>4 != 3 {
		c.t.Fatalf("want PUBLISH, got %#x %x %v", h, body, err)
	}
	n := int(binary.BigEndian.Uint16(body))
	id = binary.BigEndian.Uint16(body[2+n:])
	props := int(body[2+n+2]) // a one-byte property length
	return h, id, string(body[2+n+3+props:])
}
