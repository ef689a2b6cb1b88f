package ldapsync

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

var guidCases = []struct {
	name string
	raw  []byte
	want string // "" for an error
}{
	{"mixed endian", []byte{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}, "00112233-4455-6677-8899-aabbccddeeff"},
	{"zero", make([]byte, 16), "00000000-0000-0000-0000-000000000000"},
	{"short", []byte{1, 2, 3}, ""},
	{"long", make([]byte, 17), ""},
	{"empty", nil, ""},
}

func TestDecodeGUID(t *testing.T) {
	for _, c := range guidCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeGUID(c.raw)
			if c.want == "" {
				if err == nil {
					t.Fatalf("DecodeGUID(%x) = %q, want an error", c.raw, got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("DecodeGUID(%x) = %q, %v, want %q", c.raw, got, err, c.want)
			}
		})
	}
}

func FuzzDecodeGUID(f *testing.F) {
	for _, c := range guidCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := DecodeGUID(raw)
		if err != nil {
			return
		}
		back, err := EncodeGUID(s)
		if err != nil || string(back) != string(raw) {
			t.Fatalf("EncodeGUID(DecodeGUID(%x)) = %x, %v", raw, back, err)
		}
	})
}

var uacCases = []struct {
	in   string
	want uint32
	ok   bool
}{
	{"512", 512, true}, {"514", 514, true}, {" 66048 ", 66048, true}, {"-2147483646", 0x80000002, true},
	{"4294967295", 0xffffffff, true}, {"", 0, false}, {"x", 0, false}, {"99999999999", 0, false}, {"0x2", 0, false},
}

func TestParseUAC(t *testing.T) {
	for _, c := range uacCases {
		got, err := ParseUAC(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseUAC(%q) = %d, %v; want %d, ok %t", c.in, got, err, c.want, c.ok)
		}
	}
}

var expiresCases = []struct {
	in   string
	want time.Time // zero: never
	ok   bool
}{
	{"0", time.Time{}, true},
	{"9223372036854775807", time.Time{}, true},
	{"", time.Time{}, true},
	{"116444736000000000", time.Unix(0, 0).UTC(), true}, // the Unix epoch as FILETIME
	{"130000000000000000", time.Date(2012, 12, 14, 23, 6, 40, 0, time.UTC), true},
	{"-5", time.Time{}, true},
	{"abc", time.Time{}, false},
	{"99999999999999999999", time.Time{}, false},
}

func TestParseAccountExpires(t *testing.T) {
	for _, c := range expiresCases {
		got, err := ParseAccountExpires(c.in)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("ParseAccountExpires(%q) = %v, %v; want %v, ok %t", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzAttributes feeds the attribute decoders arbitrary values: they never
// panic, and cleaned text is valid UTF-8 without control characters.
func FuzzAttributes(f *testing.F) {
	for _, c := range uacCases {
		f.Add(c.in)
	}
	for _, c := range expiresCases {
		f.Add(c.in)
	}
	for _, s := range []string{"Müller\x00", "a\xffb", "\u202eevil", "<GUID=0011>;CN=x", "member;range=0-1499", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseUAC(s)
		ParseAccountExpires(s)
		memberRef(s)
		plainDN(s)
		c := cleanText(s, 256)
		if !utf8.ValidString(c) || utf8.RuneCountInString(c) > 256 || strings.ContainsAny(c, "\x00\n\r\t\u202e") {
			t.Fatalf("cleanText(%q) = %q", s, c)
		}
		if g := groupName(s, strings.ToLower); len(g) > 64 {
			t.Fatalf("groupName(%q) = %q", s, g)
		}
	})
}

func TestMemberRef(t *testing.T) {
	for in, want := range map[string]string{
		"<GUID=33221100554477668899aabbccddeeff>;<SID=01>;CN=A,DC=x": "guid:00112233-4455-6677-8899-aabbccddeeff",
		"<GUID=00112233-4455-6677-8899-AABBCCDDEEFF>;CN=A":           "guid:00112233-4455-6677-8899-aabbccddeeff",
		"CN=Müller\\, Ana,OU=Users,DC=x":                             "dn:cn=müller\\, ana,ou=users,dc=x",
		"<GUID=zz>;CN=B":                                             "dn:cn=b",
	} {
		if got := memberRef(in); got != want {
			t.Errorf("memberRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Config{URL: "ldaps://dc:636", BindDN: "cn=svc", BaseDN: "dc=x"}
	for name, c := range map[string]Config{
		"no url":          {BindDN: "x", BaseDN: "x"},
		"plain ldap":      {URL: "ldap://dc:389", BindDN: "x", BaseDN: "x"},
		"starttls+ldaps":  {URL: "ldaps://dc", StartTLS: true, BindDN: "x", BaseDN: "x"},
		"bad scheme":      {URL: "http://dc", BindDN: "x", BaseDN: "x"},
		"unbalanced":      {URL: "ldaps://dc", BindDN: "x", BaseDN: "x", UserFilter: "(&(a=b)"},
		"no base":         {URL: "ldaps://dc", BindDN: "x"},
		"filter no paren": {URL: "ldaps://dc", BindDN: "x", BaseDN: "x", GroupFilter: "objectClass=group"},
	} {
		if err := c.Check(); err == nil {
			t.Errorf("%s: Check() = nil", name)
		}
	}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
}

// Windows AD returns large groups in ranges of 1,500 values.
func TestRangedMembers(t *testing.T) {
	for _, c := range []struct {
		attr     string
		values   []string
		wantN    int
		wantNext int
	}{
		{"member;range=0-1499", make([]string, 1500), 1500, 1500},
		{"member;range=1500-*", []string{"CN=a"}, 1, -1},
		{"Member;Range=0-2", []string{"CN=a", "CN=b", "CN=c"}, 3, 3},
		{"member;range=0-x", []string{"CN=a"}, 1, -1},
		{"member;range=0-5", nil, 0, -1},
		{"member", []string{"CN=a"}, 0, -1},
	} {
		e := ldap.NewEntry("CN=g", map[string][]string{c.attr: c.values})
		vals, next := rangedMembers(e)
		if len(vals) != c.wantN || next != c.wantNext {
			t.Errorf("rangedMembers(%s) = %d values, next %d; want %d, %d", c.attr, len(vals), next, c.wantN, c.wantNext)
		}
	}
}
