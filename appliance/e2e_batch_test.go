package appliance_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// runStdin runs the CLI with stdin.
func runStdin(t *testing.T, a *testkit.Appliance, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(a.CLIBin, append(args, "--data", a.Data)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// TestBatchCommands adds users and enrols devices from JSON lines: all or
// nothing, a bad line named by its number.
func TestBatchCommands(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	file := filepath.Join(t.TempDir(), "users.jsonl")
	os.WriteFile(file, []byte("{\"login\":\"rn.one\",\"name\":\"One\"}\n\n{\"login\":\"rn.two\",\"name\":\"Two\",\"department\":\"ICU\"}\n"), 0o600)
	out, errOut, code := a.CLI("user", "add", "--batch", file)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `{"line":3,"login":"rn.two"}`) {
		t.Fatalf("user add --batch: %d %q %s", code, out, errOut)
	}
	cases := []struct {
		name, args, stdin, want string
	}{
		{"existing user", "user add --batch -", "{\"login\":\"rn.three\",\"name\":\"Three\"}\n{\"login\":\"rn.one\",\"name\":\"Again\"}\n", "line 2: user rn.one: already exists"},
		{"same login twice", "user add --batch -", "{\"login\":\"rn.four\",\"name\":\"X\"}\n{\"login\":\"RN.FOUR\",\"name\":\"Y\"}\n", "line 2"},
		{"bad login", "user add --batch -", "{\"login\":\"rn.five\",\"name\":\"X\"}\n{\"login\":\"a b\",\"name\":\"Y\"}\n", "line 2: login"},
		{"not JSON", "user add --batch -", "{\"login\":\"rn.six\",\"name\":\"X\"}\nnot json\n", "line 2: not a valid JSON object"},
		{"unknown field", "user add --batch -", "{\"login\":\"rn.seven\",\"nam\":\"X\"}\n", "line 1"},
		{"unknown user's device", "device enroll --batch -", "{\"user\":\"rn.one\"}\n{\"user\":\"nobody\"}\n", "line 2: user nobody: not found"},
		{"device without owner", "device enroll --batch -", "{\"name\":\"x\"}\n", "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := runStdin(t, a, c.stdin, strings.Fields(c.args)...)
			if code != 1 || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "nothing was added") {
				t.Fatalf("exit %d, stderr %q; want %q", code, errOut, c.want)
			}
		})
	}
	got := listLogins(t, a)
	if len(got) != 2 {
		t.Fatalf("a refused batch added users: %v", got)
	}
	if out, _, _ := a.CLI("device", "list", "--json"); strings.Contains(out, "rn.one") {
		t.Fatalf("a refused batch enrolled a device: %s", out)
	}
	out, errOut, code = runStdin(t, a, "{\"user\":\"rn.one\",\"name\":\"badge\"}\n{\"shared\":true,\"name\":\"ward phone\"}\n", "device", "enroll", "--batch", "-")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("device enroll --batch: %d %q %s", code, out, errOut)
	}
	var d struct {
		Line       int
		ID, Secret string
	}
	if err := json.Unmarshal([]byte(lines[1]), &d); err != nil || d.Line != 2 || !strings.HasPrefix(d.ID, "dev_") || !strings.HasPrefix(d.Secret, "wls_") {
		t.Fatalf("second line %q: %+v %v", lines[1], d, err)
	}
}
