package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestDeliverFollowsSubscriptionChanges: deliveries follow each change of
// a device's subscriptions (the per-connection cache of subcache.go is
// emptied by SUBSCRIBE and UNSUBSCRIBE).
func TestDeliverFollowsSubscriptionChanges(t *testing.T) {
	b := startBroker(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := dial5(t, b, "dev_a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := func(filter string, qos byte) {
		if _, err := d.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: InTopic("dev_a", filter), QoS: qos}}}); err != nil {
			t.Fatal(err)
		}
	}
	unsub := func(filter string) {
		if _, err := d.Unsubscribe(ctx, &paho.Unsubscribe{Topics: []string{InTopic("dev_a", filter)}}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		change  func()
		topic   string
		wantQoS int // -1: not delivered (ErrNotConnected)
	}{
		{"no subscription", func() {}, "msg", -1},
		{"subscribed to in/# at QoS 1", func() { sub("#", 1) }, "msg", 1},
		{"same topic again", func() {}, "msg", 1},
		{"unsubscribed", func() { unsub("#") }, "msg", -1},
		{"subscribed to in/msg at QoS 0", func() { sub("msg", 0) }, "msg", 0},
		{"another topic", func() {}, "notify", -1},
		{"in/notify added at QoS 1", func() { sub("notify", 1) }, "notify", 1},
		{"in/msg dropped", func() { unsub("msg") }, "msg", -1},
		{"in/notify kept", func() {}, "notify", 1},
	}
	for _, st := range steps {
		st.change()
		err := b.Deliver(ctx, "dev_a", Outgoing{Topic: InTopic("dev_a", st.topic), Payload: []byte(`{"step":"` + st.name + `"}`)})
		if st.wantQoS < 0 {
			if !errors.Is(err, ErrNotConnected) {
				t.Errorf("%s: Deliver = %v, want ErrNotConnected", st.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Deliver: %v", st.name, err)
		}
		select {
		case m := <-d.msgs:
			if m.Topic != InTopic("dev_a", st.topic) || int(m.QoS) != st.wantQoS {
				t.Errorf("%s: got %s at QoS %d, want %s at QoS %d", st.name, m.Topic, m.QoS, st.topic, st.wantQoS)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing delivered", st.name)
		}
	}
}
