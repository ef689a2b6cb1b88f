package appliance

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/ldapsync"
)

// fakeAD answers binds: "right" is the password of every user; "down"
// makes AD unreachable.
type fakeAD struct{}

func (fakeAD) authenticate(_ context.Context, u directory.User, pw string) error {
	switch pw {
	case "right":
		return nil
	case "down":
		return fmt.Errorf("bind: %w", ldapsync.ErrUnreachable)
	case "locked":
		return fmt.Errorf("bind: %w", ldapsync.ErrAccountLocked)
	}
	return fmt.Errorf("bind: %w", ldapsync.ErrBadCredentials)
}

func TestCheckPassword(t *testing.T) {
	idx := directory.NewIndex()
	idx.Load([]directory.User{
		{Login: "jdoe", Name: "Doe", Enabled: true, Source: directory.SourceAD, ADLogin: "jdoe", UPN: "jdoe@hosp.test", DN: "CN=jdoe"},
		{Login: "gone", Name: "Gone", Enabled: false, Source: directory.SourceAD, DN: "CN=gone"},
		{Login: "local", Name: "Local", Enabled: true, Source: directory.SourceLocal},
	}, nil)
	cases := []struct {
		name, login, pw string
		pc              passwordChecker
		want            error // nil: signed in as jdoe
	}{
		{"right", "jdoe", "right", fakeAD{}, nil},
		{"by UPN, any case", "JDoe@Hosp.Test", "right", fakeAD{}, nil},
		{"wrong password", "jdoe", "wrong", fakeAD{}, ErrWrongPassword},
		{"locked account", "jdoe", "locked", fakeAD{}, ErrWrongPassword},
		{"unknown user", "nobody", "right", fakeAD{}, ErrWrongPassword},
		{"filter as login", "*)(cn=*", "right", fakeAD{}, ErrWrongPassword},
		{"disabled user", "gone", "right", fakeAD{}, ErrWrongPassword},
		{"local user", "local", "right", fakeAD{}, ErrNoDirectoryPassword},
		{"no AD", "jdoe", "right", nil, ErrNoDirectoryPassword},
		{"AD down", "jdoe", "down", fakeAD{}, ErrDirectoryUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := checkPassword(context.Background(), idx, c.pc, c.login, c.pw)
			if c.want == nil && (err != nil || u.Login != "jdoe") || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("checkPassword(%q) = %q, %v; want %v", c.login, u.Login, err, c.want)
			}
		})
	}
}
