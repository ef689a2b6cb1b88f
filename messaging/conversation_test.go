package messaging

import (
	"slices"
	"strings"
	"testing"

	"github.com/wardline/wardline/directory"
)

var directCases = []struct{ a, b, want string }{
	{"jsmith", "dr.lee", "dr.lee:jsmith"},
	{"dr.lee", "jsmith", "dr.lee:jsmith"},
	{"a", "a", "a:a"},
	{"a.b", "c", "a.b:c"},
	{"a", "b.c", "a:b.c"},
}

func TestDirectKey(t *testing.T) {
	for _, c := range directCases {
		if got := DirectKey(c.a, c.b); got != c.want {
			t.Errorf("DirectKey(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func FuzzDirectKey(f *testing.F) {
	for _, c := range directCases {
		f.Add(c.a, c.b, c.b, c.a)
	}
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		if DirectKey(a, b) != DirectKey(b, a) {
			t.Fatalf("DirectKey(%q, %q) is not symmetric", a, b)
		}
		var err error
		for _, l := range []*string{&a, &b, &c, &d} {
			if *l, err = directory.NormalizeLogin(*l); err != nil {
				return
			}
		}
		same := (a == c && b == d) || (a == d && b == c)
		if (DirectKey(a, b) == DirectKey(c, d)) != same {
			t.Fatalf("DirectKey(%q, %q) vs (%q, %q): same pair %v", a, b, c, d, same)
		}
	})
}

var memberCases = []struct {
	members []string
	login   string
	want    bool
}{
	{[]string{"a", "b"}, "a", true},
	{[]string{"a", "b"}, "b", true},
	{[]string{"a", "b"}, "c", false},
	{[]string{"b", "a"}, "a", true},
	{nil, "a", false},
	{[]string{""}, "", false},
}

func TestIsMember(t *testing.T) {
	for _, c := range memberCases {
		if got := IsMember(Conversation{Members: c.members}, c.login); got != c.want {
			t.Errorf("IsMember(%v, %q) = %v, want %v", c.members, c.login, got, c.want)
		}
	}
	if got := Members("b", []string{"c", "a", "c"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Members = %v", got)
	}
}

func FuzzIsMember(f *testing.F) {
	for _, c := range memberCases {
		f.Add(strings.Join(c.members, ","), c.login)
	}
	f.Fuzz(func(t *testing.T, members, login string) {
		m := Members(login, strings.Split(members, ","))
		c := Conversation{Members: m}
		if !slices.IsSorted(m) || (login != "" && !IsMember(c, login)) {
			t.Fatalf("Members(%q, %q) = %v", login, members, m)
		}
	})
}
