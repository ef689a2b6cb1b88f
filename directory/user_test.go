package directory

import (
	"errors"
	"reflect"
	"testing"
)

var userCases = []struct {
	name    string
	in      User
	want    User
	wantErr string // field named in the error, "" for success
}{
	{"plain", User{Login: "jsmith", Name: "Smith, J"}, User{Login: "jsmith", Name: "Smith, J"}, ""},
	{"case and spaces", User{Login: "  JSmith ", Name: " Smith, J ", Email: "j@h.test"}, User{Login: "jsmith", Name: "Smith, J", Email: "j@h.test"}, ""},
	{"dotted login", User{Login: "dr.lee-2_x", Name: "Lee"}, User{Login: "dr.lee-2_x", Name: "Lee"}, ""},
	{"accents in name", User{Login: "ana", Name: "Kim, Ána Ümlaut"}, User{Login: "ana", Name: "Kim, Ána Ümlaut"}, ""},
	{"empty login", User{Login: "", Name: "X"}, User{}, "login"},
	{"leading dot", User{Login: ".x", Name: "X"}, User{}, "login"},
	{"space in login", User{Login: "j smith", Name: "X"}, User{}, "login"},
	{"ldap chars", User{Login: "a*)(x", Name: "X"}, User{}, "login"},
	{"kelvin sign", User{Login: "\u212aim", Name: "X"}, User{}, "login"},
	{"long login", User{Login: string(make([]byte, 65)), Name: "X"}, User{}, "login"},
	{"empty name", User{Login: "a", Name: "  "}, User{}, "name"},
	{"control in name", User{Login: "a", Name: "A\x00B"}, User{}, "name"},
	{"bad utf8", User{Login: "a", Name: "A\xffB"}, User{}, "name"},
	{"bad email", User{Login: "a", Name: "A", Email: "nope"}, User{}, "email"},
	{"bad source", User{Login: "a", Name: "A", Source: "x"}, User{}, "source"},
}

func TestUserNormalize(t *testing.T) {
	for _, c := range userCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.in.Normalize()
			if c.wantErr != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != c.wantErr || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Normalize(%+v) error = %v, want a FieldError on %q", c.in, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%+v) = %v", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Normalize(%+v) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
}

func FuzzUserNormalize(f *testing.F) {
	for _, c := range userCases {
		f.Add(c.in.Login, c.in.Name, c.in.Email)
	}
	f.Fuzz(func(t *testing.T, login, name, email string) {
		u, err := User{Login: login, Name: name, Email: email}.Normalize()
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := u.Normalize()
		if err != nil || !reflect.DeepEqual(again, u) {
			t.Fatalf("Normalize is not idempotent: %+v -> %+v, %v", u, again, err)
		}
	})
}
