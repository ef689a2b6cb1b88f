package broker

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// TestStressDeliverWhileAcking is the scenario of mochi's inflight
// deadlock (libraries.md): many devices receive QoS 1 messages from
// several goroutines while they publish out/ack, whose PUBACKs a
// committer goroutine releases in batches. Everything must arrive and
// nothing may hang; on a hang the test fails with a goroutine dump.
func TestStressDeliverWhileAcking(t *testing.T) {
	const (
		devices   = 50
		v3Devices = 10 // the last ones speak MQTT 3.1.1
		perDevice = 200
		senders   = 4
	)
	if testing.Short() {
		t.Skip("stress test")
	}
	pending := make(chan func(Ack), 100_000)
	var acked atomic.Int64
	h := newRecHandler(func(in Inbound, done func(Ack)) {
		if in.Kind == "ack" {
			acked.Add(1)
		}
		pending <- done
	})
	b := startBroker(t, Options{Handler: h})
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the committer: releases whatever is waiting, like a group commit
		for {
			select {
			case <-stop:
				return
			case done := <-pending:
				time.Sleep(200 * time.Microsecond)
				done(Ack{})
				for n := len(pending); n > 0; n-- {
					(<-pending)(Ack{})
				}
			}
		}
	}()

	var received [devices]atomic.Int64
	var completed atomic.Int64 // out/ack publishes whose PUBACK the device got
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	ids := make([]string, devices)
	for i := range devices {
		id := fmt.Sprintf("dev_s%d", i)
		ids[i] = id
		acks := make(chan string, perDevice)
		if i < devices-v3Devices {
			d, err := dial5(t, b, id, func(cc *paho.ClientConfig) {
				cc.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
					received[i].Add(1)
					acks <- string(pr.Packet.Payload)
					return true, nil
				}}
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			subscribe5(t, d, id)
			go func() {
				for {
					select {
					case <-stop:
						return
					case m := <-acks:
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						_, err := d.Publish(ctx, &paho.Publish{Topic: "wl/v1/" + id + "/out/ack", QoS: 1, Payload: []byte(m)})
						cancel()
						if err != nil {
							fail("%s: publish ack: %v", id, err)
						}
						completed.Add(1)
					}
				}
			}()
		} else {
			c := dial3(t, b, id, nil)
			tok := c.Subscribe(InTopic(id, "#"), 1, func(_ paho3.Client, m paho3.Message) {
				received[i].Add(1)
				acks <- string(m.Payload())
			})
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			go func() {
				for {
					select {
					case <-stop:
						return
					case m := <-acks:
						if tok := c.Publish("wl/v1/"+id+"/out/ack", 1, false, []byte(m)); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
							fail("%s: v3 publish ack: %v", id, tok.Error())
						}
						completed.Add(1)
					}
				}
			}()
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i, id := range ids {
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range perDevice / senders {
					m := Outgoing{Topic: InTopic(id, "msg"), Payload: fmt.Appendf(nil, `{"id":"msg_%d_%d_%d"}`, i, s, n)}
					if err := b.Deliver(ctx, id, m); err != nil {
						fail("Deliver to %s: %v", id, err)
						return
					}
				}
			}()
		}
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		for completed.Load() < devices*perDevice {
			if ctx.Err() != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(45 * time.Second):
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("hung: %d of %d acks after %v\n%s", completed.Load(), devices*perDevice, time.Since(start), buf)
	}
	for i, id := range ids {
		if n := received[i].Load(); n != perDevice {
			t.Errorf("%s received %d of %d", id, n, perDevice)
		}
	}
	if n := acked.Load(); n != devices*perDevice {
		t.Errorf("%d out/ack publishes reached the Handler, want %d", n, devices*perDevice)
	}
	t.Logf("%d deliveries and %d acknowledged publishes in %v", devices*perDevice, acked.Load(), time.Since(start))
}
