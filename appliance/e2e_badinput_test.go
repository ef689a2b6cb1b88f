package appliance_test

import (
	"strings"
	"testing"
	"time"
)

// TestDeviceAPIBadInput sends malformed and refused payloads: each gets the
// spec's error code on in/reply and an MQTT 5 PUBACK reason, and the
// appliance keeps working.
func TestDeviceAPIBadInput(t *testing.T) {
	a := startMessaging(t)
	id, sec := a.Enroll(t, "alice")
	a.Enroll(t, "bob")
	d := mustDial(t, a, id, sec, false)
	long := strings.Repeat("é", 4097)
	cases := []struct {
		name   string
		kind   string
		raw    any
		reason byte
		code   string // error code on in/reply ("" when no reply is expected)
	}{
		{"malformed JSON", "send", []byte(`{"to":[{"user":"bob"}],"body":`), 0x99, "invalid"},
		{"not an object", "send", []byte(`[1,2]`), 0x99, "invalid"},
		{"no recipients", "send", map[string]any{"body": "x"}, 0x99, "invalid"},
		{"empty body", "send", map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": "   "}, 0x99, "invalid"},
		{"body over 4096 characters", "send", map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": long}, 0x99, "too_large"},
		{"unknown recipient", "send", map[string]any{"to": []map[string]string{{"user": "nobody"}}, "body": "x"}, 0x83, "unknown_recipient"},
		{"unknown group", "send", map[string]any{"to": []map[string]string{{"group": "nogroup"}}, "body": "x"}, 0x83, "unknown_recipient"},
		{"bad priority", "send", map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": "x", "priority": "asap"}, 0x99, "invalid"},
		{"foreign conversation", "send", map[string]any{"conversation": "cnv_aaaaaaaaaaaaaaaaaaaa", "body": "x"}, 0x87, "forbidden"},
		{"ack of an unknown message", "ack", map[string]any{"id": "msg_01M84XQC6YM964N23EYXE4XNB9", "state": "read"}, 0x83, ""},
		{"ack with a bad state", "ack", map[string]any{"id": "msg_01M84XQC6YM964N23EYXE4XNB9", "state": "queued"}, 0x99, ""},
		{"unknown op", "req", map[string]any{"ref": "r1", "op": "drop.tables"}, 0x99, "invalid"},
		{"history of a foreign conversation", "req", map[string]any{"ref": "r2", "op": "history", "conversation": "cnv_aaaaaaaaaaaaaaaaaaaa"}, 0x87, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _ := d.Publish(c.kind, c.raw)
			if code != c.reason {
				t.Errorf("PUBACK reason %#x, want %#x", code, c.reason)
			}
			if c.code == "" {
				return
			}
			r, ok := d.Next("reply", wait)
			if !ok {
				t.Fatal("no in/reply")
			}
			e, _ := r.Fields["error"].(map[string]any)
			if e == nil || e["code"] != c.code {
				t.Fatalf("in/reply %s, want error code %s", r.Payload, c.code)
			}
		})
	}
	// A payload over 64 KiB closes the connection; the appliance goes on.
	big := map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": strings.Repeat("x", 70<<10)}
	go d.Publish("send", big) // no PUBACK comes: the broker closes the connection
	select {
	case <-d.Gone:
	case <-time.After(wait):
		t.Fatal("a 70 KiB publish did not close the connection")
	}
	d2 := mustDial(t, a, id, sec, false)
	send(t, d2, map[string]any{"to": []map[string]string{{"user": "bob"}}, "body": "still working"})
}
