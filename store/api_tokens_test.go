package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// TestAPITokens: a token is found by its hash alone until revoked; a
// duplicate name or hash, a right other than auditor or administrator and
// a malformed hash are refused and write nothing; last use is recorded.
func TestAPITokens(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	h := func(c string) string { return strings.Repeat(c, 64) }
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := s.Apply(ctx, AddAPIToken{By: audit.System, Token: APIToken{Name: "siem", Right: directory.RightAuditor, Hash: h("a"), Expires: exp}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		tok  APIToken
		want error
	}{
		{"same name", APIToken{Name: "siem", Right: directory.RightAuditor, Hash: h("b")}, directory.ErrExists},
		{"same hash", APIToken{Name: "other", Right: directory.RightAuditor, Hash: h("a")}, directory.ErrExists},
		{"clinician right", APIToken{Name: "c", Right: directory.RightClinician, Hash: h("c")}, directory.ErrInvalid},
		{"short hash", APIToken{Name: "d", Right: directory.RightAdmin, Hash: "abc"}, directory.ErrInvalid},
		{"no name", APIToken{Right: directory.RightAdmin, Hash: h("e")}, directory.ErrInvalid},
	}
	for _, c := range cases {
		if err := s.Apply(ctx, AddAPIToken{By: audit.System, Token: c.tok}); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	got, err := s.APITokenByHash(h("a"))
	if err != nil || got.Name != "siem" || got.Created.IsZero() || !got.Expires.Equal(exp) || got.Expired(time.Now()) || !got.Expired(exp) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := s.APITokenByHash(h("b")); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("an unknown hash: %v", err)
	}
	if err := s.Apply(ctx, TouchAPIToken{By: audit.System, Name: "siem"}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.APITokens(); err != nil || len(list) != 1 || list[0].LastUsed.IsZero() {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Apply(ctx, RevokeAPIToken{By: audit.System, Name: "siem"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenByHash(h("a")); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("a revoked token: %v", err)
	}
	if err := s.Apply(ctx, RevokeAPIToken{By: audit.System, Name: "siem"}); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := s.Apply(ctx, TouchAPIToken{By: audit.System, Name: "siem"}); err == nil {
		t.Fatal("a touch brought a revoked token back")
	}
	if list, _ := s.APITokens(); len(list) != 0 {
		t.Fatalf("after revoke: %+v", list)
	}
}
