package messaging

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// decode parses an encoder's output as a JSON object.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", b, err)
	}
	return m
}

// keys returns the sorted keys of m.
func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

var sentAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))

var wireCases = []struct {
	name string
	b    []byte
	want string // the exact JSON
}{
	{"msg", EncodeMsg(Message{
		ID: testMsg, Conversation: testCnv, From: "rn.kim", FromName: "Kim, Ana", SenderDevice: "dev_1", ClientRef: "c-1",
		To:         []Address{{User: "jsmith"}, {Role: "cardiology-oncall", RoutedTo: "dr.lee"}, {Group: "icu"}},
		Recipients: []string{"dr.lee", "jsmith", "x"}, Body: "K+ <6.1> & rising", Priority: Urgent, SentAt: sentAt,
		Patient: &Patient{MRN: "123", Location: "12B"},
	}), `{"id":"` + testMsg + `","conversation":"` + testCnv + `","from":{"user":"rn.kim","name":"Kim, Ana"},` +
		`"to":[{"user":"jsmith"},{"role":"cardiology-oncall","user":"dr.lee"},{"group":"icu"}],` +
		`"body":"K+ <6.1> & rising","priority":"urgent","sent_at":"2026-03-01T11:00:00.000Z","patient":{"mrn":"123","location":"12B"}}`},
	{"msg to conversation, no patient", EncodeMsg(Message{
		ID: testMsg, Conversation: testCnv, From: "a", FromName: "A", Recipients: []string{"b", "c"}, Body: "x", Priority: Normal, SentAt: sentAt,
	}), `{"id":"` + testMsg + `","conversation":"` + testCnv + `","from":{"user":"a","name":"A"},` +
		`"to":[{"user":"b"},{"user":"c"}],"body":"x","priority":"normal","sent_at":"2026-03-01T11:00:00.000Z"}`},
	{"notify", EncodeNotify(testMsg, Critical, 3), `{"id":"` + testMsg + `","priority":"critical","unread":3}`},
	{"receipt", EncodeReceipt(testMsg, "jsmith", Read, sentAt.Add(1500*time.Millisecond)),
		`{"id":"` + testMsg + `","user":"jsmith","state":"read","at":"2026-03-01T11:00:01.500Z"}`},
	{"send reply", EncodeSendReply("c-7f3a", testMsg, testCnv, []string{"dr.lee", "jsmith"}),
		`{"re":"c-7f3a","id":"` + testMsg + `","conversation":"` + testCnv + `","recipients":["dr.lee","jsmith"]}`},
	{"send reply, no recipients", EncodeSendReply("", testMsg, testCnv, nil),
		`{"re":"","id":"` + testMsg + `","conversation":"` + testCnv + `","recipients":[]}`},
	{"reply", EncodeReply("r-1", []map[string]string{{"login": "jsmith"}}), `{"re":"r-1","result":[{"login":"jsmith"}]}`},
	{"reply nil", EncodeReply("r-1", nil), `{"re":"r-1","result":null}`},
	{"reply unencodable", EncodeReply("r-1", func() {}), `{"re":"r-1","error":{"code":"internal","message":"the result could not be encoded"}}`},
	{"error reply", EncodeErrorReply("c-7f3a", Errorf(CodeUnknownRecipient, "no user, role or group named x")),
		`{"re":"c-7f3a","error":{"code":"unknown_recipient","message":"no user, role or group named x"}}`},
	{"error reply nil", EncodeErrorReply("r", nil), `{"re":"r","error":{"code":"internal","message":"internal error"}}`},
	{"wipe", EncodeCmd(CmdWipe), `{"cmd":"wipe"}`},
	{"signout", EncodeCmd(CmdSignout), `{"cmd":"signout"}`},
	{"recall", EncodeRecallCmd(testMsg), `{"cmd":"recall","id":"` + testMsg + `"}`},
}

func TestEncoders(t *testing.T) {
	for _, c := range wireCases {
		t.Run(c.name, func(t *testing.T) {
			got, want := decode(t, c.b), decode(t, []byte(c.want))
			if !reflect.DeepEqual(keys(got), keys(want)) {
				t.Fatalf("keys %v, want %v", keys(got), keys(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %s\nwant %s", c.b, c.want)
			}
		})
	}
}

func TestEncodeMsgKeys(t *testing.T) {
	m := decode(t, wireCases[0].b)
	want := []string{"body", "conversation", "from", "id", "patient", "priority", "sent_at", "to"}
	if got := keys(m); !slices.Equal(got, want) {
		t.Fatalf("in/msg keys %v, want %v", got, want)
	}
	if got := keys(m["from"].(map[string]any)); !slices.Equal(got, []string{"name", "user"}) {
		t.Fatalf("from keys %v", got)
	}
	if _, ok := decode(t, wireCases[1].b)["patient"]; ok {
		t.Fatal("patient present when nil")
	}
}

func TestEncodeNotifyHasOnlyItsFields(t *testing.T) {
	b := EncodeNotify(testMsg, Urgent, 7)
	m := decode(t, b)
	if got := keys(m); !slices.Equal(got, []string{"id", "priority", "unread"}) {
		t.Fatalf("in/notify keys %v, want exactly id, priority, unread", got)
	}
	if m["id"] != testMsg || m["priority"] != "urgent" || m["unread"] != 7.0 {
		t.Fatalf("in/notify = %s", b)
	}
}

func FuzzEncodeMsg(f *testing.F) {
	f.Add("K+ 6.1", "Doe, J", "Kim", 3)
	for _, c := range sendCases {
		if len(c.payload) > 8<<10 {
			continue // long bodies slow the fuzzer and add nothing to encoding
		}
		f.Add(c.payload, c.name, "", c.maxBody)
	}
	f.Fuzz(func(t *testing.T, body, patient, fromName string, unread int) {
		m := Message{ID: testMsg, Conversation: testCnv, From: "a", FromName: fromName, Body: body, Priority: Urgent,
			SentAt: sentAt, To: []Address{{User: "b"}}, Patient: &Patient{Name: patient}}
		var got map[string]any
		if err := json.Unmarshal(EncodeMsg(m), &got); err != nil {
			t.Fatalf("in/msg is not JSON: %v", err)
		}
		if strings.ToValidUTF8(body, "\uFFFD") == body && got["body"] != body {
			t.Fatalf("body %q came back as %q", body, got["body"])
		}
		n := EncodeNotify(m.ID, m.Priority, unread)
		var nm map[string]any
		if err := json.Unmarshal(n, &nm); err != nil || len(nm) != 3 {
			t.Fatalf("in/notify = %s, %v", n, err)
		}
		var rm map[string]any
		if err := json.Unmarshal(EncodeRecallCmd(body), &rm); err != nil || len(rm) != 2 || rm["cmd"] != CmdRecall {
			t.Fatalf("recall cmd = %v, %v", rm, err)
		}
	})
}

func TestEncodeMsgExactBytes(t *testing.T) {
	if got := string(wireCases[0].b); got != wireCases[0].want {
		t.Fatalf("in/msg\n got %s\nwant %s", got, wireCases[0].want)
	}
}
