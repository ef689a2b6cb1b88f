package loadgen

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// syncBuffer is an output the test reads while the simulator writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSim plays the appliance on a bare broker: it sends the simulated
// badge a message and a wipe, and watches what the badge publishes.
func TestSim(t *testing.T) {
	b := startBaseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got := make(chan string, 10)
	peer, err := Connect(ctx, b.Addr(), nil, Device{ID: "appliance"}, func(p paho.PublishReceived) (bool, error) {
		got <- p.Packet.Topic + " " + string(p.Packet.Payload)
		return true, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Disconnect(&paho.Disconnect{})
	if err := Subscribe(ctx, peer, "wl/v1/dev_sim/out/#", false); err != nil {
		t.Fatal(err)
	}

	inR, inW := io.Pipe()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Sim(ctx, SimConfig{Addr: b.Addr(), Device: Device{ID: "dev_sim", Secret: "s"}, In: inR, Out: out})
	}()
	waitFor(t, out, "connected as dev_sim")

	publish := func(topic, payload string) {
		t.Helper()
		if _, err := peer.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	publish("wl/v1/dev_sim/in/msg", `{"id":"msg_1","conversation":"cnv_1","from":{"user":"bob","name":"Builder, Bob"},"to":[{"user":"alice"},{"role":"oncall","user":"alice"}],"body":"K+ 6.1","priority":"urgent","sent_at":"2026-11-23T20:00:00.000Z"}`)
	waitFor(t, out, "URGENT from Builder, Bob (bob) to alice, role oncall (alice): K+ 6.1")
	if m := <-got; m != `wl/v1/dev_sim/out/ack {"id":"msg_1","state":"delivered"}` {
		t.Errorf("the badge published %s, want a delivered ack", m)
	}

	io.WriteString(inW, "to carol hello there\n")
	if m := <-got; !strings.HasPrefix(m, `wl/v1/dev_sim/out/send {"body":"hello there","client_ref":"sim-`) || !strings.Contains(m, `"to":[{"user":"carol"}]`) {
		t.Errorf("the badge published %s, want a send to carol", m)
	}
	io.WriteString(inW, "read msg_1\n")
	if m := <-got; m != `wl/v1/dev_sim/out/ack {"id":"msg_1","state":"read"}` {
		t.Errorf("the badge published %s, want a read ack", m)
	}
	io.WriteString(inW, "search card\n")
	if m := <-got; !strings.Contains(m, `"op":"directory.search"`) || !strings.Contains(m, `"q":"card"`) {
		t.Errorf("the badge published %s, want a search", m)
	}
	publish("wl/v1/dev_sim/in/reply", `{"re":"r-2","result":[{"user":"dr.lee","name":"Lee, D","department":"Cardiology"},{"role":"cardiology-oncall"}]}`)
	waitFor(t, out, "role  cardiology-oncall")

	publish("wl/v1/dev_sim/in/cmd", `{"cmd":"wipe"}`)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Sim after a wipe: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Sim did not return after a wipe")
	}
	if !strings.HasSuffix(out.String(), "WIPED\n") {
		t.Errorf("output does not end with WIPED:\n%s", out)
	}
}

func waitFor(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in the output:\n%s", want, out)
}
