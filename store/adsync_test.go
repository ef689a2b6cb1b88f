package store

import (
	"context"
	"errors"
	"testing"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

func adUser(login, guid string, enabled bool) directory.User {
	u := directory.User{Login: login, Name: "AD " + login, Enabled: enabled, Source: directory.SourceAD, GUID: guid, ADLogin: login}
	if !enabled {
		u.Disabled = "disabled in AD"
	}
	return u
}

// A sync creates AD users and groups; disabling a user revokes its
// devices; a local user or group of the same name is left alone; a split
// sync is reported in progress until its last command; AD users are
// read-only to user commands.
func TestSyncDirectory(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	addUser(t, s, "local.admin", "Break Glass")
	if err := s.Apply(ctx, AddGroup{By: admin, Name: "icu", Members: []string{"local.admin"}}); err != nil {
		t.Fatal(err)
	}
	first := &SyncDirectory{By: audit.System, Gen: "g1", Users: []directory.UserChange{
		{Kind: directory.ChangeCreate, User: adUser("jdoe", "guid-1", true)},
		{Kind: directory.ChangeCreate, User: adUser("local.admin", "guid-2", true)}, // held by a local user
	}}
	if err := s.Apply(ctx, first); err != nil {
		t.Fatal(err)
	}
	if p, ok := s.SyncInProgress(); !ok || p.Gen != "g1" {
		t.Fatalf("after a non-final command: progress %+v, %t", p, ok)
	}
	if len(first.Conflicts) != 1 || first.Conflicts[0] != "user:local.admin" {
		t.Fatalf("conflicts %v", first.Conflicts)
	}
	if u, _ := s.User("local.admin"); u.Source != directory.SourceLocal || u.Name != "Break Glass" {
		t.Fatalf("the local user was overwritten: %+v", u)
	}
	last := &SyncDirectory{By: audit.System, Gen: "g1", Final: true,
		Groups: []Group{{Name: "ward-4", Members: []string{"jdoe"}}, {Name: "icu", Members: []string{"jdoe"}}}}
	if err := s.Apply(ctx, last); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.SyncInProgress(); ok {
		t.Fatal("still in progress after the final command")
	}
	groups, _ := s.Groups(ctx, false)
	byName := map[string]Group{}
	for _, g := range groups {
		byName[g.Name] = g
	}
	if g := byName["ward-4"]; g.Source != directory.SourceAD || len(g.Members) != 1 {
		t.Fatalf("ward-4 = %+v", g)
	}
	if g := byName["icu"]; g.Source != directory.SourceLocal || g.Members[0] != "local.admin" {
		t.Fatalf("the local group icu was replaced: %+v", g)
	}
	// AD users are read-only to the user commands.
	if err := s.Apply(ctx, &SetUserEnabled{By: admin, Login: "jdoe"}); !errors.Is(err, directory.ErrReadOnly) {
		t.Fatalf("user disable of an AD user = %v", err)
	}
	if err := s.Apply(ctx, ChangeMembers{By: admin, Name: "ward-4", Add: []string{"local.admin"}}); !errors.Is(err, directory.ErrReadOnly) {
		t.Fatalf("changing an AD group's members = %v", err)
	}
	// Disabling in AD revokes the user's devices.
	if err := s.Apply(ctx, EnrollDevice{By: admin, Device: Device{ID: "dev_1", User: "jdoe", SecretHash: "x"}}); err != nil {
		t.Fatal(err)
	}
	off := &SyncDirectory{By: audit.System, Final: true, Users: []directory.UserChange{{Kind: directory.ChangeDisable, User: adUser("jdoe", "guid-1", false)}},
		DeleteGroups: []string{"ward-4", "icu"}}
	if err := s.Apply(ctx, off); err != nil {
		t.Fatal(err)
	}
	if len(off.Revoked) != 1 || off.Revoked[0] != "dev_1" || len(off.Disabled) != 1 {
		t.Fatalf("revoked %v, disabled %v", off.Revoked, off.Disabled)
	}
	d, u, _ := s.DeviceAccess("dev_1")
	if d.Active() || u.Enabled || u.Disabled != "disabled in AD" {
		t.Fatalf("device %+v, user %+v", d, u)
	}
	groups, _ = s.Groups(ctx, false)
	if len(groups) != 1 || groups[0].Name != "icu" {
		t.Fatalf("after removing AD groups: %+v (the local icu stays)", groups)
	}
	// Re-enabled: the user is back (the device is not).
	on := &SyncDirectory{By: audit.System, Final: true, Users: []directory.UserChange{{Kind: directory.ChangeEnable, User: adUser("jdoe", "guid-1", true)}}}
	if err := s.Apply(ctx, on); err != nil {
		t.Fatal(err)
	}
	if d, u, _ := s.DeviceAccess("dev_1"); d.Active() || !u.Enabled {
		t.Fatalf("after re-enabling: device %+v, user %+v", d, u)
	}
	// A new AD user whose login is an old AD user's with another GUID is refused.
	clash := &SyncDirectory{By: audit.System, Final: true, Users: []directory.UserChange{{Kind: directory.ChangeCreate, User: adUser("jdoe", "guid-9", true)}}}
	if err := s.Apply(ctx, clash); err != nil || len(clash.Conflicts) != 1 {
		t.Fatalf("clash: %v, %v", err, clash.Conflicts)
	}
}
