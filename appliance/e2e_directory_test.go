package appliance_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// startWithAD starts an appliance syncing the OU ou of the test DC every
// interval.
func startWithAD(t *testing.T, dc *testkit.Samba, ou string, interval string, extra ...string) *testkit.Appliance {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "wardline.toml")
	toml := fmt.Sprintf(`[directory.ad]
url = %q
ca_file = %q
bind_dn = %q
bind_password_file = %q
base_dn = %q
sync_interval = %q
timeout = "20s"
`, dc.URL, dc.CAFile, dc.BindDN, dc.PasswordFile(t), ou, interval)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return testkit.Start(t, testkit.NewDataDir(t), append([]string{"--mqtt-plain-addr", "127.0.0.1:0", "--config", cfg}, extra...)...)
}

type listedUser struct {
	Login, Name, Email, Department, Title, Source string
	Enabled                                       bool
	GUID                                          string `json:"guid"`
	Disabled                                      string `json:"disabled_reason"`
}

func users(t *testing.T, a *testkit.Appliance) map[string]listedUser {
	t.Helper()
	out, errOut, code := a.CLI("user", "list", "--json")
	if code != 0 {
		t.Fatalf("user list: %s", errOut)
	}
	var list []listedUser
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]listedUser{}
	for _, u := range list {
		m[u.Login] = u
	}
	return m
}

func syncNow(t *testing.T, a *testkit.Appliance, args ...string) (string, int) {
	t.Helper()
	out, errOut, code := a.CLI(append([]string{"directory", "sync"}, args...)...)
	return out + errOut, code
}

func groupMembers(t *testing.T, a *testkit.Appliance, name string) []string {
	t.Helper()
	out, _, _ := a.CLI("group", "list", "--json")
	var gs []struct {
		Name    string
		Members []string
		Source  string
	}
	json.Unmarshal([]byte(out), &gs)
	for _, g := range gs {
		if g.Name == name {
			return g.Members
		}
	}
	return nil
}

// The sync lifecycle against a real DC: create, rename, move between
// groups, disable, delete, re-enable, and the mass-disable guard.
func TestDirectorySyncLifecycle(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Life")
	for i := 1; i <= 12; i++ {
		dc.Tool(t, "user", "create", fmt.Sprintf("life%02d", i), "Passw0rd!Life", "--userou=OU=Life",
			"--given-name=Zoë", fmt.Sprintf("--surname=Müller%02d", i), "--department=Cardiology", "--job-title=Nurse")
	}
	dc.Tool(t, "group", "add", "Life Ward", "--groupou=OU=Life")
	dc.Tool(t, "group", "add", "Life ICU", "--groupou=OU=Life")
	dc.Tool(t, "group", "addmembers", "Life Ward", "Life ICU")
	dc.Tool(t, "group", "addmembers", "Life ICU", "life01,life02")
	a := startWithAD(t, dc, ou, "1h") // syncs at start; then the test drives it
	a.CLI("user", "add", "local.admin", "--name", "Break Glass")
	if out, code := syncNow(t, a); code != 0 {
		t.Fatalf("directory sync: %d %s", code, out)
	}
	u := users(t, a)
	if len(u) != 13 || u["life01"].Source != "ad" || !u["life01"].Enabled || u["local.admin"].Source != "local" {
		t.Fatalf("after the first sync: %+v", u)
	}
	guid := u["life01"].GUID
	if m := groupMembers(t, a, "life-ward"); strings.Join(m, ",") != "life01,life02" {
		t.Fatalf("nested group life-ward = %v", m)
	}
	// Search: prefix of a word, accents and case ignored.
	out, _, code := a.CLI("directory", "search", "muller0", "--json")
	if code != 0 || !strings.Contains(out, `"life01"`) {
		t.Fatalf("directory search muller0: %d %s", code, out)
	}
	if out, _, _ := a.CLI("directory", "search", "break gla", "--json"); !strings.Contains(out, `"local.admin"`) {
		t.Fatalf("a local user added through the CLI is not found: %s", out)
	}
	// AD users are read-only here.
	if _, errOut, code := a.CLI("user", "disable", "life01"); code == 0 || !strings.Contains(errOut, "Active Directory") {
		t.Fatalf("user disable of an AD user: %d %s", code, errOut)
	}
	// Rename (sAMAccountName and name), move between groups, disable one.
	dn := dnOf(t, dc, ou, "life01")
	dc.Modify(t, dn, map[string][]string{"sAMAccountName": {"life01x"}, "displayName": {"Zoë Renamed"}})
	dc.Tool(t, "group", "removemembers", "Life ICU", "life02")
	dc.Tool(t, "group", "addmembers", "Life ICU", "life03")
	dc.Tool(t, "user", "disable", "life04")
	if out, code := syncNow(t, a); code != 0 {
		t.Fatalf("directory sync: %d %s", code, out)
	}
	u = users(t, a)
	if r := u["life01"]; r.GUID != guid || r.Name != "Zoë Renamed" || !r.Enabled {
		t.Fatalf("renamed user: %+v (the login stays, keyed by objectGUID)", r)
	}
	if m := groupMembers(t, a, "life-ward"); strings.Join(m, ",") != "life01,life03" {
		t.Fatalf("after the move life-ward = %v", m)
	}
	if r := u["life04"]; r.Enabled || r.Disabled != "disabled in AD" {
		t.Fatalf("disabled user: %+v", r)
	}
	// Delete one; re-enable the other.
	dc.Tool(t, "user", "delete", "life05")
	dc.Tool(t, "user", "enable", "life04")
	if out, code := syncNow(t, a); code != 0 {
		t.Fatalf("directory sync: %d %s", code, out)
	}
	u = users(t, a)
	if u["life05"].Enabled || u["life05"].Disabled != "deleted in AD" || !u["life04"].Enabled {
		t.Fatalf("deleted %+v, re-enabled %+v", u["life05"], u["life04"])
	}
	// The guard: disabling 3 of 12 enabled users (25%) is more than 10%.
	for _, l := range []string{"life06", "life07", "life08"} {
		dc.Tool(t, "user", "disable", l)
	}
	out, code = syncNow(t, a)
	if code != 3 || !strings.Contains(out, "--confirm") {
		t.Fatalf("guarded sync: exit %d %s, want 3", code, out)
	}
	if !users(t, a)["life06"].Enabled {
		t.Fatal("the guard stopped the sync but life06 was disabled")
	}
	st, _, _ := a.CLI("directory", "status", "--json")
	var ds map[string]any
	json.Unmarshal([]byte(st), &ds)
	for _, k := range []string{"last_run", "last_success", "duration_ms", "users", "groups", "disabled", "error", "stopped"} {
		if _, ok := ds[k]; !ok {
			t.Fatalf("directory status --json lacks %q: %s", k, st)
		}
	}
	if ds["stopped"] != true || ds["stop_reason"] == "" {
		t.Fatalf("status while stopped: %s", st)
	}
	metrics := a.HTTPSClient()
	resp, err := metrics.Get(a.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if !strings.Contains(body.String(), "wardline_directory_sync_stopped 1") {
		t.Fatal("metrics do not show the stopped sync")
	}
	if out, code := syncNow(t, a, "--confirm"); code != 0 {
		t.Fatalf("directory sync --confirm: %d %s", code, out)
	}
	if users(t, a)["life06"].Enabled {
		t.Fatal("--confirm did not apply the sync")
	}
	// The audit chain holds every change.
	audit, _, _ := a.CLI("audit", "export")
	for _, action := range []string{"user.sync.create", "user.sync.update", "user.sync.disable", "user.sync.enable", "group.sync"} {
		if !strings.Contains(audit, action) {
			t.Fatalf("audit lacks %s", action)
		}
	}
}

// dnOf finds a user's DN by sAMAccountName.
func dnOf(t testing.TB, dc *testkit.Samba, base, sam string) string {
	t.Helper()
	out := dc.Tool(t, "user", "show", sam, "--attributes=distinguishedName")
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "dn: "); ok {
			return v
		}
	}
	t.Fatalf("no DN for %s in %q", sam, out)
	return ""
}

// A user disabled in AD has their connected device wiped and disconnected
// within one sync interval.
func TestDirectoryDisableDisconnectsDevice(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Dev")
	for i := 1; i <= 12; i++ {
		dc.Tool(t, "user", "create", fmt.Sprintf("dev%02d", i), "Passw0rd!Dev1", "--userou=OU=Dev")
	}
	a := startWithAD(t, dc, ou, "5s")
	deadline := time.Now().Add(30 * time.Second)
	for !users(t, a)["dev01"].Enabled {
		if time.Now().After(deadline) {
			t.Fatal("dev01 not synced")
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, errOut, code := a.CLI("device", "enroll", "--user", "dev01", "--json")
	if code != 0 {
		t.Fatalf("enroll: %s", errOut)
	}
	var d struct{ ID, Secret string }
	json.Unmarshal([]byte(out), &d)
	dev, err := a.DialDevice(t, d.ID, d.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Shared-device sign-in by AD password on another device.
	out, errOut, code = a.CLI("device", "enroll", "--shared", "--json")
	if code != 0 {
		t.Fatalf("enroll shared: %s", errOut)
	}
	var sd struct{ ID, Secret string }
	json.Unmarshal([]byte(out), &sd)
	shared, err := a.DialDevice(t, sd.ID, sd.Secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	shared.Publish("req", map[string]string{"ref": "s1", "op": "session.signin", "login": "dev02", "password": "wrong"})
	if r := shared.Expect("reply", 15*time.Second); r.Fields["error"] == nil {
		t.Fatalf("sign-in with a wrong password: %s", r.Payload)
	}
	shared.Publish("req", map[string]string{"ref": "s2", "op": "session.signin", "login": "dev02", "password": "Passw0rd!Dev1"})
	if r := shared.Expect("reply", 15*time.Second); r.Fields["result"] == nil {
		t.Fatalf("sign-in with the AD password: %s", r.Payload)
	}
	shared.Publish("req", map[string]string{"ref": "s3", "op": "directory.search", "q": "DEV0"})
	if r := shared.Expect("reply", 15*time.Second); !strings.Contains(string(r.Payload), `"dev01"`) {
		t.Fatalf("directory.search: %s", r.Payload)
	}
	// Search text is never an LDAP filter: an injection attempt finds nothing.
	shared.Publish("req", map[string]string{"ref": "s4", "op": "directory.search", "q": "*)(sAMAccountName=*"})
	if r := shared.Expect("reply", 15*time.Second); string(r.Payload) != `{"re":"s4","result":[]}` {
		t.Fatalf("directory.search with a filter: %s", r.Payload)
	}
	dc.Tool(t, "user", "disable", "dev01")
	disabled := time.Now()
	if r := dev.Expect("cmd", 12*time.Second); r.Fields["cmd"] != "wipe" {
		t.Fatalf("in/cmd = %s, want wipe", r.Payload)
	}
	select {
	case <-dev.Gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the device of the disabled user is still connected")
	}
	took := time.Since(disabled)
	t.Logf("disabled in AD -> device wiped and disconnected in %v (interval 5s)", took)
	if took > 10*time.Second {
		t.Fatalf("took %v, more than one interval plus the sync", took)
	}
	if _, err := a.DialDevice(t, d.ID, d.Secret, nil); err == nil {
		t.Fatal("the revoked device connected again")
	}
}
