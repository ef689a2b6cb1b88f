package broker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// nextEvent returns the Handler's next event, or "" after d.
func nextEvent(h *recHandler, d time.Duration) string {
	select {
	case e := <-h.events:
		return e
	case <-time.After(d):
		return ""
	}
}

func wantEvent(t *testing.T, h *recHandler, want string) {
	t.Helper()
	if got := nextEvent(h, 5*time.Second); got != want {
		t.Fatalf("event %q, want %q", got, want)
	}
}

func noEvent(t *testing.T, h *recHandler) {
	t.Helper()
	if got := nextEvent(h, 200*time.Millisecond); got != "" {
		t.Fatalf("unexpected event %q", got)
	}
}

func persistent(c *paho.Connect) {
	c.CleanStart = false
	exp := uint32(300)
	c.Properties = &paho.ConnectProperties{SessionExpiryInterval: &exp}
}

// TestOnlineOffline: Online after a SUBSCRIBE covering in/msg and on a
// resumed session that holds one; Offline when the connection is gone;
// a takeover leaves the device online.
func TestOnlineOffline(t *testing.T) {
	h := newRecHandler(nil)
	b := startBroker(t, Options{Handler: h})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	d, err := dial5(t, b, "dev_a", nil, persistent)
	if err != nil {
		t.Fatal(err)
	}
	noEvent(t, h) // connected, not subscribed
	if _, err := d.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: InTopic("dev_a", "notify"), QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	noEvent(t, h) // in/notify does not cover in/msg
	subscribe5(t, d, "dev_a")
	wantEvent(t, h, "online dev_a")
	if !b.Connected("dev_a") {
		t.Error("Connected = false")
	}
	_ = d.Disconnect(&paho.Disconnect{})
	wantEvent(t, h, "offline dev_a")
	if b.Connected("dev_a") {
		t.Error("Connected = true after disconnect")
	}

	// Resumed session: online without a new SUBSCRIBE, and deliverable.
	d2, err := dial5(t, b, "dev_a", nil, persistent)
	if err != nil {
		t.Fatal(err)
	}
	wantEvent(t, h, "online dev_a")
	if err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", "msg"), Payload: []byte("{}")}); err != nil {
		t.Fatalf("Deliver on a resumed session: %v", err)
	}
	select {
	case <-d2.msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the resumed session")
	}

	// Takeover: the old connection's end must not leave the device offline.
	for i := range 5 {
		if _, err := dial5(t, b, "dev_a", nil, persistent); err != nil {
			t.Fatal(err)
		}
		var events []string
		for e := nextEvent(h, 300*time.Millisecond); e != ""; e = nextEvent(h, 300*time.Millisecond) {
			events = append(events, e)
		}
		if len(events) == 0 || events[len(events)-1] != "online dev_a" {
			t.Fatalf("takeover %d: events %v, want the last to be online", i, events)
		}
		if !b.Connected("dev_a") {
			t.Fatalf("takeover %d: Connected = false", i)
		}
	}

	// MQTT 3.1.1 with a persistent session, too.
	c := dial3(t, b, "dev_b", func(o *paho3.ClientOptions) { o.SetCleanSession(false) })
	if tok := c.Subscribe("wl/v1/dev_b/in/#", 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	wantEvent(t, h, "online dev_b")
	c.Disconnect(100)
	wantEvent(t, h, "offline dev_b")
	dial3(t, b, "dev_b", func(o *paho3.ClientOptions) { o.SetCleanSession(false) })
	wantEvent(t, h, "online dev_b")
}

// TestDisconnect: Disconnect drops a device within a second (MQTT 5 with
// DISCONNECT 0x98) and reports whether it was connected.
func TestDisconnect(t *testing.T) {
	h := newRecHandler(nil)
	b := startBroker(t, Options{Handler: h})
	d, err := dial5(t, b, "dev_a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan struct{}, 1)
	dial3(t, b, "dev_b", func(o *paho3.ClientOptions) {
		o.SetConnectionLostHandler(func(paho3.Client, error) { lost <- struct{}{} })
	})
	if !b.Disconnect("dev_a") || !b.Disconnect("dev_b") {
		t.Fatal("Disconnect of a connected device = false")
	}
	if b.Connected("dev_a") || b.Connected("dev_b") {
		t.Error("Connected after Disconnect")
	}
	select {
	case dc := <-d.disconnected:
		if dc.ReasonCode != 0x98 {
			t.Errorf("DISCONNECT %#x, want 0x98", dc.ReasonCode)
		}
	case <-time.After(time.Second):
		t.Error("MQTT 5 device not disconnected within 1 s")
	}
	select {
	case <-d.Done():
	case <-time.After(time.Second):
		t.Error("MQTT 5 connection still open")
	}
	select {
	case <-lost:
	case <-time.After(time.Second):
		t.Error("MQTT 3.1.1 device not disconnected within 1 s")
	}
	if b.Disconnect("dev_a") || b.Disconnect("dev_c") {
		t.Error("Disconnect of an absent device = true")
	}
}

// TestAuthFailedReported: every refused CONNECT reaches the Handler, with
// a reason and never the secret.
func TestAuthFailedReported(t *testing.T) {
	h := newRecHandler(nil)
	b := startBroker(t, Options{Handler: h, MaxAuthFailures: 2, MaxAuthFailuresPerIP: 100})
	addr := b.Addrs()[ListenerPlain]
	dialRaw(t, addr).connack(5, "dev_a", "dev_a", "wrong-secret")
	dialRaw(t, addr).connack(4, "dev_a", "dev_a", "wrong-secret")
	dialRaw(t, addr).connack(5, "dev_a", "dev_a", "secret-a")
	dialRaw(t, addr).connack(5, "dev_revoked", "dev_revoked", "secret-r")
	dialRaw(t, addr).connack(5, "nodev", "nodev", "x")
	for _, want := range []string{
		"authfailed dev_a bad credentials",
		"authfailed dev_a bad credentials",
		"authfailed dev_a too many failures",
		"authfailed dev_revoked not authorized",
		"authfailed nodev client id is not a device id",
	} {
		got := nextEvent(h, 5*time.Second)
		if got != want || strings.Contains(got, "secret") {
			t.Errorf("event %q, want %q", got, want)
		}
	}
}
