package appliance_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestCLIErrors checks exit codes and messages of bad command lines and bad
// set-ups, against a stopped instance (commands open the store themselves).
func TestCLIErrors(t *testing.T) {
	bin, err := testkit.CLIBinary()
	if err != nil {
		t.Fatal(err)
	}
	data := testkit.NewDataDir(t)
	// Create an instance with one user, offline.
	a := testkit.Start(t, data)
	a.Stop()
	other := testkit.NewDataDir(t)
	b := testkit.Start(t, other)
	b.Stop()
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.toml")
	os.WriteFile(badConfig, []byte("# a comment\ndata_dir = \"x\"\n[mqtt]\nadr = \"127.0.0.1:1\"\n"), 0o600)
	goodConfig := filepath.Join(dir, "good.toml")
	os.WriteFile(goodConfig, []byte("# comments are allowed\n[mqtt]\naddr = \"127.0.0.1:18883\" # devices\n[https]\naddr = \"127.0.0.1:18443\"\n"), 0o600)
	copyFile := func(from, to string) { b, _ := os.ReadFile(from); os.WriteFile(to, b, 0o600) }

	cases := []struct {
		name     string
		args     []string
		setup    func()
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"no command", nil, nil, 2, "", "no command"},
		{"unknown command", []string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"user", "frob"}, nil, 2, "", "unknown command"},
		{"unknown flag", []string{"user", "list", "--frob", "--data", data}, nil, 2, "", "flag provided but not defined: -frob"},
		{"missing argument", []string{"user", "add", "--name", "X", "--data", data}, nil, 2, "", "usage: wardline user add"},
		{"missing name", []string{"user", "add", "x", "--data", data}, nil, 2, "", "--name is required"},
		{"help", []string{"help"}, nil, 0, "user add", ""},
		{"flags after arguments", []string{"user", "add", "jsmith", "--name", "Smith, J", "--data", data}, nil, 0, "Added user jsmith", ""},
		{"flags before arguments", []string{"user", "add", "--data", data, "--name", "Lee, K", "klee", "--title", "RN"}, nil, 0, "Added user klee", ""},
		{"duplicate user", []string{"user", "add", "jsmith", "--name", "X", "--data", data}, nil, 1, "", "already exists"},
		{"invalid login", []string{"user", "add", "a*b", "--name", "X", "--data", data}, nil, 1, "", "login:"},
		{"disable unknown", []string{"user", "disable", "nobody", "--data", data}, nil, 1, "", "not found"},
		{"status when stopped", []string{"status", "--data", data}, nil, 1, "", "not running"},
		{"unknown config key", []string{"serve", "--check-config", "--config", badConfig}, nil, 1, "", `unknown key "mqtt.adr" (line 4)`},
		{"good config", []string{"serve", "--check-config", "--config", goodConfig}, nil, 0, "Configuration OK", ""},
		{"bad address flag", []string{"serve", "--check-config", "--https-addr", "nope"}, nil, 1, "", "https.addr"},
		{"no data directory", []string{"user", "list", "--data", filepath.Join(dir, "none")}, nil, 1, "", "no Wardline data directory"},
		{"key of another instance", []string{"user", "list", "--data", data}, func() { copyFile(other+".key", data+".key") }, 1, "", "belongs to another instance"},
		{"corrupt key", []string{"user", "list", "--data", data}, func() { os.WriteFile(data+".key", []byte("garbage"), 0o600) }, 1, "", "corrupt"},
		{"missing key", []string{"user", "list", "--data", data}, func() { os.Remove(data + ".key") }, 1, "", "cannot be opened without its key"},
		{"backup over a file", []string{"backup", goodConfig, "--data", other}, nil, 1, "", "exists"},
		{"restore without --data", []string{"restore", "x.backup"}, nil, 2, "", "--data DIR is required"},
		{"export bad time", []string{"audit", "export", "--since", "yesterday", "--data", other}, nil, 2, "", "RFC 3339"},
	}
	goodKey, _ := os.ReadFile(data + ".key")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(data+".key", goodKey, 0o600)
			if c.setup != nil {
				c.setup()
			}
			out, errOut, code := testkit.RunCLI(bin, c.args...)
			if code != c.wantCode || !strings.Contains(out, c.wantOut) || !strings.Contains(errOut, c.wantErr) {
				t.Fatalf("wardline %v: exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout %q, stderr %q", c.args, code, c.wantCode, out, errOut, c.wantOut, c.wantErr)
			}
		})
	}
	os.WriteFile(data+".key", goodKey, 0o600)
	// A refused start leaves the data as it was: the users are still there.
	out, errOut, code := testkit.RunCLI(bin, "user", "list", "--json", "--data", data)
	var users []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &users) != nil || len(users) != 2 {
		t.Fatalf("user list after the bad cases: %d %s %s", code, out, errOut)
	}
	for _, k := range []string{"login", "name", "email", "department", "title", "enabled", "source"} {
		if _, ok := users[0][k]; !ok {
			t.Errorf("user list --json lacks %q", k)
		}
	}
}
