package appliance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// TestKeyRotateWhileRunning rotates the store key of a running appliance:
// writes go on, the old key is kept apart as retired, and after a restart
// the data opens with the new key only.
func TestKeyRotateWhileRunning(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	if _, errOut, code := a.CLI("user", "add", "before.rotation", "--name", "Before"); code != 0 {
		t.Fatal(errOut)
	}
	oldKey, _ := os.ReadFile(a.KeyFile())
	out, errOut, code := a.CLI("key", "rotate")
	if code != 0 || !strings.Contains(out, "rotated") {
		t.Fatalf("key rotate: %d %s %s", code, out, errOut)
	}
	newKey, _ := os.ReadFile(a.KeyFile())
	if string(newKey) == string(oldKey) {
		t.Fatal("the key file did not change")
	}
	retired, _ := filepath.Glob(a.KeyFile() + ".retired-*")
	if len(retired) != 1 {
		t.Fatalf("retired keys: %v", retired)
	}
	if b, _ := os.ReadFile(retired[0]); string(b) != string(oldKey) {
		t.Fatal("the retired file does not hold the old key")
	}
	if _, errOut, code := a.CLI("user", "add", "after.rotation", "--name", "After"); code != 0 {
		t.Fatalf("write after rotation: %s", errOut)
	}
	if code := a.Stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	// The old key no longer opens the data; the new one does.
	os.WriteFile(a.KeyFile(), oldKey, 0o600)
	if _, errOut, code := a.CLI("user", "list"); code != 1 || !strings.Contains(errOut, "wrong key") {
		t.Fatalf("the old key: exit %d, %s", code, errOut)
	}
	os.WriteFile(a.KeyFile(), newKey, 0o600)
	a.Restart()
	got := listLogins(t, a)
	if !got["before.rotation"] || !got["after.rotation"] {
		t.Fatalf("users after rotation and restart: %v", got)
	}
	out, _, _ = a.CLI("audit", "export")
	if !strings.Contains(out, `"action":"key.rotate"`) {
		t.Fatal("the rotation is not in the audit trail")
	}
	if _, errOut, code := a.CLI("audit", "verify"); code != 0 {
		t.Fatal(errOut)
	}
}
