package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/messaging"
)

func startProtocol(t *testing.T, devices []Device, groupSize int) *ProtocolBroker {
	t.Helper()
	p, err := StartProtocol(devices, groupSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p
}

// checkProtocolTraffic checks the device API traffic of a clean protocol
// run: a reply per send, a notify per delivery, an ack and a receipt per
// delivery.
func checkProtocolTraffic(t *testing.T, res *Result) {
	t.Helper()
	if res.Replies != res.Sent || len(res.ReplyErrors) != 0 {
		t.Errorf("replies = %d %v, want %d without errors", res.Replies, res.ReplyErrors, res.Sent)
	}
	if res.Notifies != res.Delivered || res.AcksSent != res.Delivered || res.AckErrors != 0 || res.Receipts != res.Delivered {
		t.Errorf("notifies %d, acks %d (%d failed), receipts %d; want %d each", res.Notifies, res.AcksSent, res.AckErrors, res.Receipts, res.Delivered)
	}
}

func TestProtocolOneToOne(t *testing.T) {
	devs := ProtocolDevices(20)
	p := startProtocol(t, devs, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Protocol, Addr: p.Addr(), Devices: devs, Senders: 2,
		Rate: 200, Duration: time.Second, Body: 100, Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 20 || res.Target != Protocol {
		t.Errorf("connected = %d to %s, want 20 to protocol", res.Connected, res.Target)
	}
	if res.Sent < 190 || res.Sent > 200 {
		t.Errorf("sent = %d, want about 200 (200/s for 1 s)", res.Sent)
	}
	checkClean(t, res, res.Sent)
	checkProtocolTraffic(t, res)
	if n := len(p.api.sent); n != 0 {
		t.Errorf("%d messages still remembered after every recipient acknowledged", n)
	}
}

func TestProtocolGroup(t *testing.T) {
	devs := ProtocolDevices(10)
	p := startProtocol(t, devs, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Protocol, Addr: p.Addr(), Devices: devs, Senders: 2,
		Rate: 100, Duration: time.Second, GroupSize: 5, Group: GroupName(5), Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Both senders are members: each send reaches the 4 other members.
	checkClean(t, res, 4*res.Sent)
	checkProtocolTraffic(t, res)
}

// TestProtocolUnlimited sends as fast as the windows allow: deliveries
// wait for the devices' PUBACKs (broker.DeliverBatch) and nothing is lost.
func TestProtocolUnlimited(t *testing.T) {
	devs := ProtocolDevices(10)
	p := startProtocol(t, devs, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Run(ctx, Config{Target: Protocol, Addr: p.Addr(), Devices: devs, Senders: 2,
		Inflight: 8, Duration: 300 * time.Millisecond, Straggle: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent < 100 {
		t.Errorf("sent only %d in 300 ms as fast as possible", res.Sent)
	}
	checkClean(t, res, res.Sent)
	checkProtocolTraffic(t, res)
}

func TestProtocolRefusesUnknownDevices(t *testing.T) {
	devs := ProtocolDevices(2)
	p := startProtocol(t, devs, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, d := range []Device{
		{ID: devs[0].ID, Secret: "wrong"},
		{ID: "dev_stranger", Secret: "bench"},
	} {
		cli, err := Connect(ctx, p.Addr(), nil, d, nil, nil)
		if err == nil {
			cli.Disconnect(nil)
			t.Errorf("%s with secret %q connected", d.ID, d.Secret)
		} else if !strings.Contains(err.Error(), "0x86") {
			t.Errorf("%s: %v, want bad user name or password (0x86)", d.ID, err)
		}
	}
}

// recorder is a Handler's done callback that keeps the Ack.
type recorder struct{ acks []broker.Ack }

func (r *recorder) done(a broker.Ack) { r.acks = append(r.acks, a) }

func TestProtocolAnswers(t *testing.T) {
	devs := ProtocolDevices(4)
	a := newMemoryAPI(devs, 3) // bench-g3: users 1 to 3
	idFrom := messaging.NewMessageID(time.Now())
	a.sent[idFrom] = &sentRecord{from: devs[0].User, to: []string{devs[1].User}, state: []messaging.State{messaging.Queued}, pending: 1}
	cases := []struct {
		name, dev, kind, payload string
		want                     byte
	}{
		{"send to a user", devs[0].ID, "send", `{"to":[{"user":"bench-u00002"}],"body":"hi"}`, broker.ReasonSuccess},
		{"send to the group", devs[0].ID, "send", `{"to":[{"group":"bench-g3"}],"body":"hi"}`, broker.ReasonSuccess},
		{"send to oneself", devs[0].ID, "send", `{"to":[{"user":"bench-u00001"}],"body":"hi"}`, broker.ReasonPayloadFormatInvalid},
		{"unknown user", devs[0].ID, "send", `{"to":[{"user":"nobody"}],"body":"hi"}`, broker.ReasonImplementation},
		{"a role", devs[0].ID, "send", `{"to":[{"role":"icu-nurse"}],"body":"hi"}`, broker.ReasonImplementation},
		{"a conversation", devs[0].ID, "send", `{"conversation":"cnv_aaaaaaaaaaaaaaaaaaaa","body":"hi"}`, broker.ReasonImplementation},
		{"no body", devs[0].ID, "send", `{"to":[{"user":"bench-u00002"}]}`, broker.ReasonPayloadFormatInvalid},
		{"not JSON", devs[0].ID, "send", `{`, broker.ReasonPayloadFormatInvalid},
		{"ack by a stranger", devs[2].ID, "ack", `{"id":"` + idFrom + `","state":"delivered"}`, broker.ReasonImplementation},
		{"ack by the recipient", devs[1].ID, "ack", `{"id":"` + idFrom + `","state":"delivered"}`, broker.ReasonSuccess},
		{"ack once forgotten", devs[1].ID, "ack", `{"id":"` + idFrom + `","state":"read"}`, broker.ReasonImplementation},
		{"bad ack", devs[1].ID, "ack", `{"id":"x"}`, broker.ReasonPayloadFormatInvalid},
		{"a request", devs[0].ID, "req", `{"op":"history"}`, broker.ReasonNotAuthorized},
		{"unknown device", "dev_stranger", "send", `{"to":[{"user":"bench-u00002"}],"body":"hi"}`, broker.ReasonNotAuthorized},
	}
	for _, c := range cases {
		var r recorder
		a.Publish(broker.Inbound{DeviceID: c.dev, Kind: c.kind, Payload: []byte(c.payload), QoS: 1}, r.done)
		if len(r.acks) != 1 || r.acks[0].Reason != c.want || r.acks[0].Retry {
			t.Errorf("%s: acks %+v, want one with reason 0x%02x", c.name, r.acks, c.want)
		}
	}
	if len(a.convs) != 2 {
		t.Errorf("%d conversations, want 2 (one 1:1, one group)", len(a.convs))
	}
	if got := a.unread[devs[1].User]; got != 2 {
		t.Errorf("unread of %s = %d, want 2", devs[1].User, got)
	}
}

func TestReportProtocol(t *testing.T) {
	mk := func(tg Target, ps float64, p50 float64) *Result {
		return &Result{Target: tg, Addr: "127.0.0.1:1", Devices: 50, Senders: 5, Connected: 50, Sent: 1000, Acked: 1000,
			Expected: 1000, Delivered: 1000, AckedPerSec: ps, DeliveredPS: ps, EndToEnd: Latency{Count: 1000, P50: p50, P99: 2 * p50, Max: 3 * p50}}
	}
	rep := &Report{Appliance: mk(Appliance, 100, 4), Baseline: mk(Baseline, 400, 1), Protocol: mk(Protocol, 200, 2)}
	rep.Compare()
	if rep.Ratio.DeliveredPerSec != 0.25 || rep.VsProtocol.DeliveredPerSec != 0.5 || rep.ProtocolVsBaseline.DeliveredPerSec != 0.5 {
		t.Errorf("ratios = %+v, %+v, %+v", rep.Ratio, rep.VsProtocol, rep.ProtocolVsBaseline)
	}
	var out strings.Builder
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"protocol", "appliance / baseline: delivered/s 0.250", "appliance / protocol: delivered/s 0.500, sends acked/s 0.500, e2e p50 2.00x",
		"protocol / baseline: delivered/s 0.500"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	rep = &Report{Appliance: mk(Appliance, 100, 4), Protocol: mk(Protocol, 200, 2)}
	rep.Compare()
	if rep.Ratio != nil || rep.ProtocolVsBaseline != nil || rep.VsProtocol == nil {
		t.Errorf("without a baseline: ratios %+v, %+v, %+v", rep.Ratio, rep.VsProtocol, rep.ProtocolVsBaseline)
	}
}
