package messaging

import (
	"fmt"
	"slices"
	"testing"

	"github.com/wardline/wardline/directory"
)

// fakeDir is a Directory from maps.
type fakeDir struct {
	users  map[string]bool // login -> enabled
	groups map[string][]string
	roles  map[string][]string
}

func (d fakeDir) User(login string) (directory.User, bool) {
	en, ok := d.users[login]
	if !ok {
		return directory.User{}, false
	}
	return directory.User{Login: login, Name: login, Enabled: en}, true
}

func (d fakeDir) GroupMembers(name string) ([]string, bool) {
	m, ok := d.groups[name]
	return m, ok
}

func (d fakeDir) RoleMembers(name string) ([]string, bool) {
	m, ok := d.roles[name]
	return m, ok
}

var _ Directory = fakeDir{}

var testDir = fakeDir{
	users: map[string]bool{"jsmith": true, "dr.lee": true, "dr.off": false, "rn.kim": true, "rn.ray": true, "old": false},
	groups: map[string][]string{
		"icu":      {"rn.ray", "rn.kim", "old", "ghost"},
		"empty":    {},
		"disabled": {"old"},
	},
	roles: map[string][]string{
		"cardio":   {"dr.off", "dr.lee", "jsmith"},
		"kim-role": {"rn.kim", "dr.lee"},
		"nobody":   {"dr.off", "ghost"},
	},
}

var resolveCases = []struct {
	name     string
	to       []Address
	sender   string
	want     []string
	resolved []Address
	code     Code
	message  string
}{
	{"user", []Address{{User: "jsmith"}}, "rn.kim", []string{"jsmith"}, []Address{{User: "jsmith"}}, "", ""},
	{"all kinds", []Address{{User: "jsmith"}, {Role: "cardio"}, {Group: "icu"}}, "rn.kim",
		[]string{"dr.lee", "jsmith", "rn.ray"}, []Address{{User: "jsmith"}, {Role: "cardio", RoutedTo: "dr.lee"}, {Group: "icu"}}, "", ""},
	{"routed by the schedule", []Address{{Role: "cardio", RoutedTo: "rn.ray"}}, "x", []string{"rn.ray"}, []Address{{Role: "cardio", RoutedTo: "rn.ray"}}, "", ""},
	{"routed to a disabled person", []Address{{Role: "cardio", RoutedTo: "dr.off"}}, "x", nil, nil, CodeUnknownRecipient, "the person on call for role cardio is disabled"},
	{"sender left out", []Address{{User: "jsmith"}, {User: "rn.kim"}}, "rn.kim", []string{"jsmith"}, []Address{{User: "jsmith"}, {User: "rn.kim"}}, "", ""},
	{"sender covers the role", []Address{{Role: "kim-role"}, {User: "jsmith"}}, "rn.kim", []string{"jsmith"}, []Address{{Role: "kim-role", RoutedTo: "rn.kim"}, {User: "jsmith"}}, "", ""},
	{"only the sender", []Address{{User: "rn.kim"}}, "rn.kim", nil, nil, CodeUnknownRecipient, "no one to deliver to"},
	{"unknown user", []Address{{User: "jsmith"}, {User: "nope"}}, "a", nil, nil, CodeUnknownRecipient, "no user, role or group named nope"},
	{"disabled user", []Address{{User: "dr.off"}}, "a", nil, nil, CodeUnknownRecipient, "user dr.off is disabled"},
	{"unknown group", []Address{{Group: "nope"}}, "a", nil, nil, CodeUnknownRecipient, "no user, role or group named nope"},
	{"unknown role", []Address{{Role: "nope"}}, "a", nil, nil, CodeUnknownRecipient, "no user, role or group named nope"},
	{"role with nobody", []Address{{Role: "nobody"}}, "a", nil, nil, CodeUnknownRecipient, "nobody covers role nobody"},
	{"empty group", []Address{{Group: "empty"}}, "a", nil, nil, CodeUnknownRecipient, "no one to deliver to"},
	{"disabled group", []Address{{Group: "disabled"}, {Group: "empty"}}, "a", nil, nil, CodeUnknownRecipient, "no one to deliver to"},
	{"no addresses", nil, "a", nil, nil, CodeUnknownRecipient, "no one to deliver to"},
	{"bad address", []Address{{User: "a", Group: "b"}}, "a", nil, nil, CodeInvalid, "to[0] must name exactly one of user, role or group"},
	{"user forwarded by status", []Address{{User: "dr.lee", RoutedTo: "rn.ray"}}, "x", []string{"rn.ray"}, []Address{{User: "dr.lee", RoutedTo: "rn.ray"}}, "", ""},
	{"forwarded to a disabled colleague: the user", []Address{{User: "dr.lee", RoutedTo: "dr.off"}}, "x", []string{"dr.lee"}, []Address{{User: "dr.lee"}}, "", ""},
	{"forwarded to the sender: the user", []Address{{User: "dr.lee", RoutedTo: "rn.kim"}}, "rn.kim", []string{"dr.lee"}, []Address{{User: "dr.lee"}}, "", ""},
	{"forwarded to an unknown colleague: the user", []Address{{User: "dr.lee", RoutedTo: "ghost"}}, "x", []string{"dr.lee"}, []Address{{User: "dr.lee"}}, "", ""},
	{"a disabled user is refused, forward or not", []Address{{User: "dr.off", RoutedTo: "rn.ray"}}, "x", nil, nil, CodeUnknownRecipient, "user dr.off is disabled"},
}

func TestResolve(t *testing.T) {
	for _, c := range resolveCases {
		t.Run(c.name, func(t *testing.T) {
			got, resolved, e := Resolve(c.to, c.sender, testDir)
			if c.code != "" {
				if e == nil || e.Code != c.code || e.Message != c.message {
					t.Fatalf("Resolve error = %v, want %s: %s", e, c.code, c.message)
				}
				return
			}
			if e != nil {
				t.Fatalf("Resolve = %v", e)
			}
			if !slices.Equal(got, c.want) || !slices.Equal(resolved, c.resolved) {
				t.Fatalf("Resolve = %v, %+v, want %v, %+v", got, resolved, c.want, c.resolved)
			}
		})
	}
}

func TestResolveTooMany(t *testing.T) {
	d := fakeDir{users: map[string]bool{}, groups: map[string][]string{}}
	for g := range 2 {
		for i := range MaxResolved / 2 {
			u := fmt.Sprintf("u%d-%d", g, i)
			d.users[u] = true
			d.groups[fmt.Sprint("g", g)] = append(d.groups[fmt.Sprint("g", g)], u)
		}
	}
	got, _, e := Resolve([]Address{{Group: "g0"}, {Group: "g1"}, {User: "u0-0"}}, "u1-0", d)
	if e != nil || len(got) != MaxResolved-1 {
		t.Fatalf("Resolve of %d = %d, %v", MaxResolved-1, len(got), e)
	}
	d.users["one-more"] = true
	d.users["and-another"] = true
	_, _, e = Resolve([]Address{{Group: "g0"}, {Group: "g1"}, {User: "one-more"}, {User: "and-another"}}, "u1-0", d)
	if e == nil || e.Code != CodeTooLarge {
		t.Fatalf("Resolve of %d = %v, want too_large", MaxResolved+1, e)
	}
}

func FuzzResolve(f *testing.F) {
	for _, c := range resolveCases {
		var a [3]string
		for i, ad := range c.to {
			if i < 3 {
				a[i] = ad.Name()
			}
		}
		f.Add(a[0], a[1], a[2], c.sender, uint8(len(c.to)))
	}
	f.Fuzz(func(t *testing.T, a, b, c, sender string, kinds uint8) {
		var to []Address
		for i, n := range []string{a, b, c} {
			switch (kinds >> (2 * i)) & 3 {
			case 0:
				to = append(to, Address{User: n})
			case 1:
				to = append(to, Address{Role: n})
			case 2:
				to = append(to, Address{Group: n})
			}
		}
		got, resolved, e := Resolve(to, sender, testDir)
		if e != nil {
			if !e.Code.Known() {
				t.Fatalf("unknown code %q", e.Code)
			}
			return
		}
		if len(got) == 0 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) || slices.Contains(got, sender) {
			t.Fatalf("recipients %v for sender %q", got, sender)
		}
		if len(resolved) != len(to) {
			t.Fatalf("resolved %d of %d addresses", len(resolved), len(to))
		}
		for i, r := range resolved {
			if (r.Role != "") != (r.RoutedTo != "") || r.Name() != to[i].Name() {
				t.Fatalf("resolved %+v for %+v", r, to[i])
			}
			if u, ok := testDir.User(r.RoutedTo); r.RoutedTo != "" && (!ok || !u.Enabled) {
				t.Fatalf("role routed to %q, who is not an enabled user", r.RoutedTo)
			}
		}
		for _, login := range got {
			if u, ok := testDir.User(login); !ok || !u.Enabled {
				t.Fatalf("recipient %q is not an enabled user", login)
			}
		}
	})
}
