package messaging

import (
	"strings"
	"testing"
	"time"
)

var idCases = []struct {
	name     string
	id       string
	msg, cnv bool
}{
	{"message", "msg_01HZX3V6J8K9M0N1P2Q3R4S5T6", true, false},
	{"message zero", "msg_00000000000000000000000000", true, false},
	{"message max", "msg_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true, false},
	{"message overflow", "msg_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false, false},
	{"message lower case", "msg_01hzx3v6j8k9m0n1p2q3r4s5t6", false, false},
	{"message with I", "msg_01HZX3V6J8K9M0N1P2Q3R4S5TI", false, false},
	{"message short", "msg_01HZX3V6J8K9M0N1P2Q3R4S5T", false, false},
	{"message long", "msg_01HZX3V6J8K9M0N1P2Q3R4S5T67", false, false},
	{"message no prefix", "01HZX3V6J8K9M0N1P2Q3R4S5T6", false, false},
	{"conversation", "cnv_0123456789abcdefghjk", false, true},
	{"conversation upper", "cnv_0123456789ABCDEFGHJK", false, false},
	{"conversation with u", "cnv_0123456789abcdefghju", false, false},
	{"conversation short", "cnv_0123456789abcdefghj", false, false},
	{"conversation multibyte", "cnv_0123456789abcdefgh\u00e9", false, false},
	{"empty", "", false, false},
	{"prefix only", "msg_", false, false},
}

func TestValidIDs(t *testing.T) {
	for _, c := range idCases {
		t.Run(c.name, func(t *testing.T) {
			if got := ValidMessageID(c.id); got != c.msg {
				t.Errorf("ValidMessageID(%q) = %v, want %v", c.id, got, c.msg)
			}
			if got := ValidConversationID(c.id); got != c.cnv {
				t.Errorf("ValidConversationID(%q) = %v, want %v", c.id, got, c.cnv)
			}
		})
	}
}

func TestNewMessageID(t *testing.T) {
	times := []time.Time{
		time.Unix(0, 0),
		time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 0, 124_000_000, time.UTC),
		time.Date(2026, 3, 1, 12, 0, 1, 0, time.FixedZone("x", 3600)).Add(time.Hour),
		time.UnixMilli(maxIDMillis),
	}
	prev := ""
	for _, tm := range times {
		id := NewMessageID(tm)
		if !ValidMessageID(id) {
			t.Fatalf("NewMessageID(%v) = %q, not valid", tm, id)
		}
		got, ok := MessageIDTime(id)
		if !ok || !got.Equal(tm.Truncate(time.Millisecond)) || got.Location() != time.UTC {
			t.Fatalf("MessageIDTime(%q) = %v, %v, want %v", id, got, ok, tm)
		}
		if id <= prev {
			t.Fatalf("ids do not sort by time: %q after %q", id, prev)
		}
		prev = id
	}
	if a, b := NewMessageID(times[1]), NewMessageID(times[1]); a == b {
		t.Fatalf("two ids of the same millisecond are equal: %q", a)
	}
	if got, _ := MessageIDTime(NewMessageID(time.Unix(-5, 0))); !got.Equal(time.Unix(0, 0)) {
		t.Fatalf("a time before 1970 gives %v, want the epoch", got)
	}
	if _, ok := MessageIDTime("msg_x"); ok {
		t.Fatal("MessageIDTime accepted an invalid id")
	}
}

func TestNewConversationID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewConversationID()
		if !ValidConversationID(id) || strings.ToLower(id) != id {
			t.Fatalf("NewConversationID() = %q, not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewConversationID() repeated %q", id)
		}
		seen[id] = true
	}
}

func FuzzIDs(f *testing.F) {
	for _, c := range idCases {
		f.Add(c.id, int64(0))
	}
	f.Add("", int64(1_700_000_000_000))
	f.Fuzz(func(t *testing.T, s string, ms int64) {
		if ValidMessageID(s) {
			tm, ok := MessageIDTime(s)
			if !ok || tm.UnixMilli() < 0 || tm.UnixMilli() > maxIDMillis {
				t.Fatalf("MessageIDTime(%q) = %v, %v", s, tm, ok)
			}
		}
		if ValidMessageID(s) && ValidConversationID(s) {
			t.Fatalf("%q is both a message and a conversation id", s)
		}
		ms = max(0, min(ms, maxIDMillis))
		id := NewMessageID(time.UnixMilli(ms))
		if tm, ok := MessageIDTime(id); !ok || tm.UnixMilli() != ms {
			t.Fatalf("MessageIDTime(NewMessageID(%d)) = %v, %v", ms, tm, ok)
		}
		if ValidMessageID(s) && s[4:14] < id[4:14] {
			if a, _ := MessageIDTime(s); a.UnixMilli() >= ms {
				t.Fatalf("%q sorts before %q but is not older", s, id)
			}
		}
	})
}
