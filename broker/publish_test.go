package broker

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// held is a publish whose done the test calls.
type held struct {
	in   Inbound
	done func(Ack)
}

// holdingBroker starts a broker whose Handler hands every publish to the
// returned channel without calling done.
func holdingBroker(t *testing.T, opts Options) (*Broker, *recHandler, chan held) {
	t.Helper()
	ch := make(chan held, 1000)
	h := newRecHandler(func(in Inbound, done func(Ack)) { ch <- held{in, done} })
	opts.Handler = h
	return startBroker(t, opts), h, ch
}

func next(t *testing.T, ch chan held) held {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no publish reached the Handler")
		return held{}
	}
}

// TestPubackAfterDone: the PUBACK reaches the client only once done was
// called, for MQTT 5 and 3.1.1.
func TestPubackAfterDone(t *testing.T) {
	b, _, ch := holdingBroker(t, Options{})
	const hold = 300 * time.Millisecond

	t.Run("v5", func(t *testing.T) {
		d, err := dial5(t, b, "dev_a", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		returned := make(chan time.Time, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if pr, err := d.Publish(ctx, &paho.Publish{Topic: "wl/v1/dev_a/out/send", QoS: 1, Payload: []byte(`{"n":1}`)}); err != nil || pr.ReasonCode != 0 {
				t.Errorf("publish: %v %+v", err, pr)
			}
			returned <- time.Now()
		}()
		p := next(t, ch)
		time.Sleep(hold)
		select {
		case <-returned:
			t.Fatal("publish returned before done")
		default:
		}
		doneAt := time.Now()
		p.done(Ack{})
		select {
		case at := <-returned:
			if at.Before(doneAt) {
				t.Errorf("publish returned %v before done", doneAt.Sub(at))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no PUBACK after done")
		}
	})

	t.Run("v3", func(t *testing.T) {
		c := dial3(t, b, "dev_b", nil)
		tok := c.Publish("wl/v1/dev_b/out/ack", 1, false, []byte(`{"n":1}`))
		p := next(t, ch)
		if tok.WaitTimeout(hold) {
			t.Fatal("PUBACK before done")
		}
		p.done(Ack{})
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("no PUBACK after done: %v", tok.Error())
		}
	})
}

// TestPubackOrder: publishes completed in reverse order are acknowledged
// in arrival order; the bytes are a 4-byte PUBACK for 3.1.1 and for an
// accepted MQTT 5 publish, and carry the reason code for a refused one.
func TestPubackOrder(t *testing.T) {
	b, _, ch := holdingBroker(t, Options{})
	for _, version := range []byte{4, 5} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			id := map[byte]string{4: "dev_a", 5: "dev_b"}[version]
			c := dialRaw(t, b.Addrs()[ListenerPlain])
			if got := c.connack(version, id, id, secretOf(id)); got != 0 {
				t.Fatalf("CONNACK %#x", got)
			}
			var ps []held
			for i := uint16(1); i <= 3; i++ {
				c.send(publishPacket(version, "wl/v1/"+id+"/out/ack", i, `{}`))
				ps = append(ps, next(t, ch))
			}
			ps[2].done(Ack{})
			ps[1].done(Ack{Reason: ReasonPayloadFormatInvalid})
			c.quiet(200 * time.Millisecond)
			ps[0].done(Ack{})
			want := [][]byte{{0x40, 2, 0, 1}, {0x40, 2, 0, 2}, {0x40, 2, 0, 3}}
			if version == 5 {
				want[1] = []byte{0x40, 3, 0, 2, 0x99}
			}
			for i, w := range want {
				h, body, err := c.readPacket()
				if got := append([]byte{h, byte(len(body))}, body...); err != nil || !bytes.Equal(got, w) {
					t.Errorf("PUBACK %d = % x (%v), want % x", i, got, err, w)
				}
			}
			ps[0].done(Ack{}) // a second call is ignored
			c.quiet(100 * time.Millisecond)
		})
	}
}

// TestPublishRetry: Ack.Retry disconnects an MQTT 3.1.1 client without a
// PUBACK (paho resends after reconnecting) and gives an MQTT 5 client the
// reason, 0x80 by default.
func TestPublishRetry(t *testing.T) {
	first := true
	b, h, ch := holdingBroker(t, Options{})
	go func() {
		for p := range ch {
			if first && p.in.QoS == 1 {
				first = false
				p.done(Ack{Retry: true})
				continue
			}
			p.done(Ack{})
		}
	}()

	t.Run("v3", func(t *testing.T) {
		lost := make(chan struct{}, 4)
		c := dial3(t, b, "dev_a", func(o *paho3.ClientOptions) {
			o.SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond)
			o.SetConnectionLostHandler(func(paho3.Client, error) { lost <- struct{}{} })
		})
		tok := c.Publish("wl/v1/dev_a/out/send", 1, false, []byte(`{"client_ref":"c-1"}`))
		select {
		case <-lost:
		case <-time.After(5 * time.Second):
			t.Fatal("MQTT 3.1.1 client not disconnected on Retry")
		}
		// paho.mqtt.golang completes the original token, without error, as
		// soon as its reconnect loads the publish to resend it; so wait for
		// the resend at the Handler.
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish not completed after reconnect: %v", tok.Error())
		}
		deadline := time.Now().Add(5 * time.Second)
		for h.published.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := h.published.Load(); n != 2 {
			t.Errorf("Handler got %d publishes, want the refused one and its resend", n)
		}
	})

	t.Run("v5", func(t *testing.T) {
		b2, _, ch2 := holdingBroker(t, Options{})
		go func() {
			for p := range ch2 {
				var a Ack
				switch string(p.in.Payload) {
				case "retry":
					a = Ack{Retry: true}
				case "quota":
					a = Ack{Retry: true, Reason: ReasonQuotaExceeded}
				}
				p.done(a)
			}
		}()
		d, err := dial5(t, b2, "dev_b", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for payload, want := range map[string]byte{"retry": 0x80, "quota": 0x97, "ok": 0} {
			pr, _ := d.Publish(ctx, &paho.Publish{Topic: "wl/v1/dev_b/out/send", QoS: 1, Payload: []byte(payload)})
			if pr == nil || pr.ReasonCode != want {
				t.Errorf("%s: PUBACK %+v, want %#x", payload, pr, want)
			}
		}
		select {
		case <-d.Done():
			t.Error("MQTT 5 client disconnected on Retry")
		default:
		}
	})
}

// TestPublishRefused: a refusal's reason reaches an MQTT 5 client; an
// MQTT 3.1.1 client gets a plain PUBACK and stays connected.
func TestPublishRefused(t *testing.T) {
	h := newRecHandler(func(_ Inbound, done func(Ack)) { done(Ack{Reason: ReasonPayloadFormatInvalid}) })
	b := startBroker(t, Options{Handler: h})
	d, err := dial5(t, b, "dev_a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pr, _ := d.Publish(ctx, &paho.Publish{Topic: "wl/v1/dev_a/out/send", QoS: 1, Payload: []byte("not json")})
	if pr == nil || pr.ReasonCode != 0x99 {
		t.Errorf("PUBACK %+v, want 0x99", pr)
	}
	c := dial3(t, b, "dev_b", nil)
	if tok := c.Publish("wl/v1/dev_b/out/send", 1, false, []byte("not json")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Errorf("v3: %v", tok.Error())
	}
	if !c.IsConnectionOpen() {
		t.Error("v3 client disconnected")
	}
}

// TestPublishInbound: what the Handler gets, QoS 0 included; the
// response topic only when the device may subscribe to it.
func TestPublishInbound(t *testing.T) {
	b, _, ch := holdingBroker(t, Options{})
	d, err := dial5(t, b, "dev_a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct {
		kind, rt, wantRT string
		qos              byte
	}{
		{"req", "wl/v1/dev_a/in/reply", "wl/v1/dev_a/in/reply", 1},
		{"req", "wl/v1/dev_b/in/reply", "", 1},
		{"send", "", "", 0},
		{"respond", "", "", 1},
	} {
		go func() {
			_, _ = d.Publish(ctx, &paho.Publish{Topic: "wl/v1/dev_a/out/" + tc.kind, QoS: tc.qos, Payload: []byte(`{"ref":"r-1"}`),
				Properties: &paho.PublishProperties{ResponseTopic: tc.rt, CorrelationData: []byte("corr")}})
		}()
		p := next(t, ch)
		in := p.in
		if in.DeviceID != "dev_a" || in.Kind != tc.kind || string(in.Payload) != `{"ref":"r-1"}` || in.QoS != tc.qos ||
			in.ResponseTopic != tc.wantRT || string(in.CorrelationData) != "corr" || in.Remote == "" {
			t.Errorf("Inbound = %+v", in)
		}
		p.done(Ack{})
	}
}

// TestReceiveMaximum: more waiting publishes than the Receive Maximum the
// broker announces end the connection (MQTT 5: DISCONNECT 0x93).
func TestReceiveMaximum(t *testing.T) {
	b, _, _ := holdingBroker(t, Options{})
	for _, version := range []byte{4, 5} {
		c := dialRaw(t, b.Addrs()[ListenerPlain])
		c.send(connectPacket(version, "dev_a", "dev_a", "secret-a"))
		h, body, err := c.readPacket()
		if err != nil || h != 0x20 || body[1] != 0 {
			t.Fatalf("CONNACK %x %v", body, err)
		}
		if version == 5 && !bytes.Contains(body, []byte{0x21, 0, receiveMaximum}) {
			t.Errorf("CONNACK %x does not announce Receive Maximum %d", body, receiveMaximum)
		}
		for i := uint16(1); i <= receiveMaximum+1; i++ {
			c.send(publishPacket(version, "wl/v1/dev_a/out/ack", i, `{}`))
		}
		h, body, err = c.readPacket()
		if version == 5 && (err != nil || h != 0xe0 || body[0] != 0x93) {
			t.Errorf("v5: got %#x %x %v, want DISCONNECT 0x93", h, body, err)
		}
		c.expectClosed()
	}
}

// TestNilHandler: without a Handler every publish is refused as not
// stored: MQTT 5 gets PUBACK 0x80, MQTT 3.1.1 no PUBACK and a closed connection.
func TestNilHandler(t *testing.T) {
	b, err := New(Options{PlainAddr: "127.0.0.1:0", Auth: newFakeAuth(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-b.Ready()
	c := dialRaw(t, b.Addrs()[ListenerPlain])
	c.connack(5, "dev_a", "dev_a", "secret-a")
	c.send(publishPacket(5, "wl/v1/dev_a/out/send", 7, `{}`))
	if h, body, err := c.readPacket(); err != nil || h != 0x40 || !bytes.Equal(body, []byte{0, 7, 0x80}) {
		t.Errorf("v5 PUBACK %#x %x %v, want 0x80", h, body, err)
	}
	c3 := dialRaw(t, b.Addrs()[ListenerPlain])
	c3.connack(4, "dev_b", "dev_b", "secret-b")
	c3.send(publishPacket(4, "wl/v1/dev_b/out/send", 7, `{}`))
	if h, body, err := c3.readPacket(); err == nil {
		t.Errorf("v3 got %#x %x, want the connection closed", h, body)
	}
}
