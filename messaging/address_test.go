package messaging

import "testing"

var nameCases = []struct {
	in   string
	want string
	ok   bool
}{
	{"icu-4-nurses", "icu-4-nurses", true},
	{" Cardiology.OnCall_2 ", "cardiology.oncall_2", true},
	{"a", "a", true},
	{"", "", false},
	{"   ", "", false},
	{"icu 4", "", false},
	{"icu/4", "", false},
	{"caf\u00e9", "", false},
	{"\u212a", "", false}, // Kelvin sign: lower-cases to 'k', still refused
	{string(make([]byte, 65)), "", false},
	{"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", true},
	{"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde", "", false},
}

func TestNormalizeName(t *testing.T) {
	for _, c := range nameCases {
		got, ok := NormalizeName(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeName(%q) = %q, %v, want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

var addressCases = []struct {
	name string
	in   Address
	want Address
	ok   bool
}{
	{"user", Address{User: " JSmith"}, Address{User: "jsmith"}, true},
	{"role routed cleared", Address{Role: "Cardio", RoutedTo: "x"}, Address{Role: "cardio"}, true},
	{"group", Address{Group: "icu"}, Address{Group: "icu"}, true},
	{"none", Address{}, Address{}, false},
	{"two", Address{User: "a", Group: "b"}, Address{}, false},
	{"bad login", Address{User: ".a"}, Address{}, false},
	{"bad group", Address{Group: "a b"}, Address{}, false},
}

func TestAddressNormalize(t *testing.T) {
	for _, c := range addressCases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.in.Normalize()
			if got != c.want || ok != c.ok {
				t.Fatalf("Normalize(%+v) = %+v, %v, want %+v, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func FuzzNormalizeName(f *testing.F) {
	for _, c := range nameCases {
		f.Add(c.in, "", "")
	}
	for _, c := range addressCases {
		f.Add(c.in.User, c.in.Role, c.in.Group)
	}
	f.Fuzz(func(t *testing.T, user, role, group string) {
		if n, ok := NormalizeName(role); ok {
			if again, ok := NormalizeName(n); !ok || again != n || len(n) > MaxNameLen {
				t.Fatalf("NormalizeName is not idempotent: %q -> %q -> %q", role, n, again)
			}
		}
		a, ok := Address{User: user, Role: role, Group: group}.Normalize()
		if !ok {
			return
		}
		if a.Kind() == "" || a.RoutedTo != "" {
			t.Fatalf("Normalize gave %+v", a)
		}
		if again, ok := a.Normalize(); !ok || again != a {
			t.Fatalf("Address.Normalize is not idempotent: %+v -> %+v", a, again)
		}
	})
}
