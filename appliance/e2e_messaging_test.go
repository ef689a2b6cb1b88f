package appliance_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/wardline/wardline/internal/testkit"
)

const wait = 10 * time.Second

// startMessaging starts an appliance with a plain MQTT listener too.
func startMessaging(t *testing.T) *testkit.Appliance {
	return testkit.Start(t, testkit.NewDataDir(t), "--mqtt-plain-addr", "127.0.0.1:0")
}

func mustDial(t *testing.T, a *testkit.Appliance, id, secret string, tls bool) *testkit.Device {
	t.Helper()
	cfg := a.TLSConfig(t)
	if !tls {
		cfg = nil
	}
	d, err := a.DialDevice(t, id, secret, cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	return d
}

func send(t *testing.T, d *testkit.Device, body map[string]any) testkit.Received {
	t.Helper()
	if code, err := d.Publish("send", body); err != nil || code != 0 {
		t.Fatalf("send: PUBACK %#x, %v", code, err)
	}
	r := d.Expect("reply", wait)
	if r.Fields["error"] != nil {
		t.Fatalf("send refused: %s", r.Payload)
	}
	return r
}

// TestMessagingEndToEnd drives the device API with real clients: Eclipse
// Paho for MQTT 5 (over TLS and plain TCP) and 3.1.1, and mosquitto_pub/sub.
func TestMessagingEndToEnd(t *testing.T) {
	a := startMessaging(t)
	a.CLI("user", "add", "carol", "--name", "Carol C")
	aID, aSec := a.Enroll(t, "alice")
	bID, bSec := a.Enroll(t, "bob")
	cID, cSec := a.Enroll(t, "carol")
	if _, errOut, code := a.CLI("group", "add", "icu-4", "--members", "bob,carol"); code != 0 {
		t.Fatal(errOut)
	}
	alice := mustDial(t, a, aID, aSec, true) // TLS, verified against `wardline tls ca`
	bob := mustDial(t, a, bID, bSec, false)

	// Carol speaks MQTT 3.1.1 (paho.mqtt.golang).
	carolIn := make(chan paho3.Message, 64)
	carol := paho3.NewClient(paho3.NewClientOptions().AddBroker("tcp://" + a.Listeners["mqtt"]).
		SetClientID(cID).SetUsername(cID).SetPassword(cSec).SetProtocolVersion(4).SetAutoReconnect(false))
	if tok := carol.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("carol (3.1.1) connect: %v", tok.Error())
	}
	defer carol.Disconnect(100)
	if tok := carol.Subscribe("wl/v1/"+cID+"/in/#", 1, func(_ paho3.Client, m paho3.Message) { carolIn <- m }); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	// 1:1: alice to bob, with receipts back to alice.
	marker := fmt.Sprintf("BODY-MARKER-%d", time.Now().UnixNano())
	reply := send(t, alice, map[string]any{"client_ref": "c1", "to": []map[string]string{{"user": "bob"}}, "body": "K+ 6.1 " + marker, "priority": "urgent",
		"patient": map[string]string{"mrn": "MRN-" + marker, "name": "Doe, " + marker}})
	id, _ := reply.Fields["id"].(string)
	if !strings.HasPrefix(id, "msg_") || fmt.Sprint(reply.Fields["recipients"]) != "[bob]" || reply.Fields["re"] != "c1" {
		t.Fatalf("send reply: %s", reply.Payload)
	}
	msg := bob.Expect("msg", wait)
	if msg.Fields["id"] != id || !strings.Contains(fmt.Sprint(msg.Fields["body"]), marker) || msg.Fields["priority"] != "urgent" {
		t.Fatalf("bob's in/msg: %s", msg.Payload)
	}
	notify := bob.Expect("notify", wait)
	keys := []string{}
	for k := range notify.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[id priority unread]" || strings.Contains(string(notify.Payload), marker) {
		t.Fatalf("in/notify carries more than id, priority and unread: %s", notify.Payload)
	}
	// The same client_ref again creates nothing new.
	again := send(t, alice, map[string]any{"client_ref": "c1", "to": []map[string]string{{"user": "bob"}}, "body": "again"})
	if again.Fields["id"] != id {
		t.Fatalf("a repeated client_ref made a new message: %s", again.Payload)
	}
	for _, state := range []string{"delivered", "read"} {
		if code, err := bob.Publish("ack", map[string]string{"id": id, "state": state}); err != nil || code != 0 {
			t.Fatalf("ack %s: %#x %v", state, code, err)
		}
		rc := alice.Expect("receipt", wait)
		if rc.Fields["id"] != id || rc.Fields["user"] != "bob" || rc.Fields["state"] != state {
			t.Fatalf("alice's receipt: %s, want %s", rc.Payload, state)
		}
	}

	// A group message reaches bob (MQTT 5) and carol (MQTT 3.1.1).
	gr := send(t, alice, map[string]any{"to": []map[string]string{{"group": "icu-4"}}, "body": "ICU huddle at 3"})
	if fmt.Sprint(gr.Fields["recipients"]) != "[bob carol]" {
		t.Fatalf("group reply: %s", gr.Payload)
	}
	if m := bob.Expect("msg", wait); m.Fields["id"] != gr.Fields["id"] {
		t.Fatalf("bob got %s", m.Payload)
	}
	select {
	case m := <-carolIn:
		var f map[string]any
		json.Unmarshal(m.Payload(), &f)
		if !strings.HasSuffix(m.Topic(), "/in/msg") || f["id"] != gr.Fields["id"] {
			t.Fatalf("carol got %s %s", m.Topic(), m.Payload())
		}
	case <-time.After(wait):
		t.Fatal("carol (3.1.1) did not get the group message")
	}

	// Offline: bob goes away, alice sends three, bob comes back and gets them in order.
	bob.Close()
	var ids []any
	for i := 0; i < 3; i++ {
		r := send(t, alice, map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": fmt.Sprintf("while away %d", i)})
		ids = append(ids, r.Fields["id"])
	}
	bob = mustDial(t, a, bID, bSec, false)
	var got []any
	for len(got) < 3 {
		m := bob.Expect("msg", wait)
		if m.Fields["id"] == gr.Fields["id"] { // not acked delivered yet: redelivered first, in order
			continue
		}
		got = append(got, m.Fields["id"])
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("queued messages out of order: got %v, want %v", got, ids)
	}

	// mosquitto_pub and mosquitto_sub for one exchange: bob (mosquitto_sub)
	// gets a message alice sends with mosquitto_pub. mosquitto_sub sends no
	// app-level acks, so bob's four unacked messages come first: -C 5.
	bob.Close()
	subOut := make(chan string, 1)
	sub := exec.Command("mosquitto_sub", "-h", "127.0.0.1", "-p", port(a.Listeners["mqtt"]), "-V", "mqttv5", "-q", "1",
		"-i", bID, "-u", bID, "-P", bSec, "-t", "wl/v1/"+bID+"/in/msg", "-C", "5", "-W", "10")
	go func() { out, _ := sub.CombinedOutput(); subOut <- string(out) }()
	time.Sleep(500 * time.Millisecond)
	alice.Close()
	pub := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", port(a.Listeners["mqtt"]), "-V", "mqttv5", "-q", "1",
		"-i", aID, "-u", aID, "-P", aSec, "-t", "wl/v1/"+aID+"/out/send", "-m", `{"to":[{"user":"bob"}],"body":"via mosquitto"}`)
	if out, err := pub.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
	out := <-subOut
	if !strings.Contains(out, "via mosquitto") {
		t.Fatalf("mosquitto_sub did not get the message: %s", out)
	}

	// The metrics count what happened, and hold no body or patient data.
	resp, err := a.HTTPSClient().Get(a.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"wardline_messages_sent_total 7", "wardline_message_acks_total", "wardline_device_publishes_total", "wardline_delivery_devices"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(metrics), marker) {
		t.Error("the metrics hold the body marker")
	}

	// The body and patient marker are nowhere in the data directory.
	if code := a.Stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	if out, err := exec.Command("grep", "-r", "-a", "-l", marker, a.Data).CombinedOutput(); err == nil || len(out) > 0 {
		t.Fatalf("grep -r found the body marker in the data directory: %s", out)
	}
	if strings.Contains(a.Stderr(), marker) {
		t.Fatal("the logs hold the body marker")
	}
}

func port(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

// TestRevokedDeviceIsWipedAndRefused revokes a connected device: it gets
// wipe, is disconnected within a second, and is refused (0x87) afterwards;
// disabling a user does the same to the user's devices.
func TestRevokedDeviceIsWipedAndRefused(t *testing.T) {
	a := startMessaging(t)
	dID, dSec := a.Enroll(t, "dave")
	eID, eSec := a.Enroll(t, "erin")
	dave := mustDial(t, a, dID, dSec, false)
	erin := mustDial(t, a, eID, eSec, false)
	for _, c := range []struct {
		dev  *testkit.Device
		args []string
	}{
		{dave, []string{"device", "revoke", dID}},
		{erin, []string{"user", "disable", "erin"}},
	} {
		start := time.Now()
		if _, errOut, code := a.CLI(c.args...); code != 0 {
			t.Fatalf("%v: %s", c.args, errOut)
		}
		cmd := c.dev.Expect("cmd", 2*time.Second)
		if cmd.Fields["cmd"] != "wipe" {
			t.Fatalf("%v: in/cmd %s", c.args, cmd.Payload)
		}
		select {
		case <-c.dev.Gone:
		case <-time.After(time.Second):
			t.Fatalf("%v: still connected a second after the wipe", c.args)
		}
		t.Logf("%v: wiped and disconnected after %s", c.args, time.Since(start).Round(time.Millisecond))
	}
	for id, sec := range map[string]string{dID: dSec, eID: eSec} {
		if _, err := a.DialDevice(t, id, sec, nil); err == nil || !strings.Contains(err.Error(), "135") && !strings.Contains(strings.ToLower(err.Error()), "not authorized") {
			t.Fatalf("a revoked device reconnected: %v", err)
		}
	}
	out, _, _ := a.CLI("audit", "export")
	for _, want := range []string{`"action":"device.revoke"`, `"action":"device.auth"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
}
