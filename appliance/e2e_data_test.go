package appliance_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// listLogins returns the logins of `user list --json`.
func listLogins(t *testing.T, a *testkit.Appliance) map[string]bool {
	t.Helper()
	out, errOut, code := a.CLI("user", "list", "--json")
	if code != 0 {
		t.Fatalf("user list: %s", errOut)
	}
	var users []struct {
		Login   string `json:"login"`
		Enabled bool   `json:"enabled"`
		Source  string `json:"source"`
	}
	if err := json.Unmarshal([]byte(out), &users); err != nil {
		t.Fatalf("user list --json is not one JSON array: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, u := range users {
		got[u.Login] = true
	}
	return got
}

// TestNoPlaintextAtRest adds a user whose name holds a unique marker and
// greps the data directory, a backup and the logs for it.
func TestNoPlaintextAtRest(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	marker := fmt.Sprintf("ZQX-MARKER-%d", time.Now().UnixNano())
	if _, errOut, code := a.CLI("user", "add", "marker.user", "--name", "Patient "+marker, "--department", marker); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	if out, _, _ := a.CLI("user", "list"); !strings.Contains(out, marker) {
		t.Fatalf("the marker user is not listed:\n%s", out)
	}
	backup := filepath.Join(t.TempDir(), "marker.backup")
	if _, errOut, code := a.CLI("backup", backup); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	if code := a.Stop(); code != 0 {
		t.Fatalf("stop: %d", code)
	}
	for _, target := range []string{a.Data, backup} {
		out, err := exec.Command("grep", "-r", "-a", "-l", marker, target).CombinedOutput()
		if err == nil || len(out) > 0 {
			t.Errorf("grep -r %s %s found it: %s", marker, target, out)
		}
	}
	if strings.Contains(a.Stderr(), marker) || strings.Contains(a.Stdout(), marker) {
		t.Errorf("the logs hold the marker")
	}
}

// TestKillDuringWritesLosesNothingAcknowledged kills the appliance with
// SIGKILL while `wardline user add` commands stream in, restarts it, and
// finds every user whose command had succeeded.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	var (
		mu       sync.Mutex
		acked    []string
		failures int
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				login := fmt.Sprintf("k%d-%d", w, i)
				_, errOut, code := a.CLI("user", "add", login, "--name", "Kill Test")
				mu.Lock()
				if code == 0 {
					acked = append(acked, login)
				} else if failures++; failures == 1 {
					t.Logf("first failed user add (expected once the appliance is killed): %s", errOut)
				}
				mu.Unlock()
			}
		}(w)
	}
	// Kill once enough commands were acknowledged (the machine may be slow).
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 150 {
			break
		}
	}
	a.Kill()
	stop.Store(true)
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d users acknowledged before the kill", len(acked))
	}
	a.Restart()
	got := listLogins(t, a)
	for _, login := range acked {
		if !got[login] {
			t.Errorf("acknowledged user %s lost after SIGKILL", login)
		}
	}
	t.Logf("%d acknowledged users, %d present after SIGKILL and restart", len(acked), len(got))
	if out, errOut, code := a.CLI("audit", "verify"); code != 0 {
		t.Fatalf("audit verify after SIGKILL: %s%s", out, errOut)
	}
}

// TestBackupUnderLoadRestores takes a backup while writes go on, restores
// it into a new data directory, starts an appliance on it, and verifies the
// audit chain and the users.
func TestBackupUnderLoadRestores(t *testing.T) {
	a := testkit.Start(t, testkit.NewDataDir(t))
	for i := 0; i < 10; i++ {
		if _, errOut, code := a.CLI("user", "add", fmt.Sprintf("pre%d", i), "--name", "Before Backup"); code != 0 {
			t.Fatal(errOut)
		}
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				a.CLI("user", "add", fmt.Sprintf("load%d-%d", w, i), "--name", "During Backup")
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	backup := filepath.Join(t.TempDir(), "live.backup")
	_, errOut, code := a.CLI("backup", backup)
	stop.Store(true)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup under load: %s", errOut)
	}

	restored := testkit.NewDataDir(t)
	out, errOut, code := testkit.RunCLI(a.CLIBin, "restore", backup, "--data", restored, "--key", a.KeyFile())
	if code != 0 {
		t.Fatalf("restore: %s", errOut)
	}
	if !strings.Contains(out, "audit chain verified") {
		t.Errorf("restore output: %s", out)
	}
	b := testkit.Start(t, restored)
	if out, errOut, code := b.CLI("audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify on the restored appliance: %s%s", out, errOut)
	}
	got := listLogins(t, b)
	for i := 0; i < 10; i++ {
		if !got[fmt.Sprintf("pre%d", i)] {
			t.Errorf("restored appliance lacks pre%d", i)
		}
	}
	if _, errOut, code := b.CLI("user", "add", "after.restore", "--name", "After"); code != 0 {
		t.Fatalf("write to the restored appliance: %s", errOut)
	}
	// Restore refuses a data directory that is not empty, and a damaged file.
	if _, errOut, code := testkit.RunCLI(a.CLIBin, "restore", backup, "--data", restored, "--key", a.KeyFile()); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore over a live data directory: exit %d: %s", code, errOut)
	}
}
