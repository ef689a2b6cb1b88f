package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a small tmpfs for a full-disk test. It needs root (or
// CAP_SYS_ADMIN), which `make test` has on the appliance's CI machine.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("the full-disk test mounts a tmpfs and needs root: run `make test` as root (sudo make test): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func TestFullDiskRefusesWritesKeepsReads(t *testing.T) {
	mnt := mountTmpfs(t, "96m")
	opts := Options{Dir: filepath.Join(mnt, "data"), KeyFile: filepath.Join(mnt, "data.key"), CreateKey: true, MinFree: 16 << 20, MemTableSize: 4 << 20}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 20; i++ {
		addUser(t, s, fmt.Sprintf("u%d", i), "N")
	}
	// Fill the file system up to a few MiB short of the reserve.
	var st syscall.Statfs_t
	syscall.Statfs(mnt, &st)
	free := int64(st.Bavail) * int64(st.Bsize)
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, free-(12<<20)), 0o600); err != nil {
		t.Fatalf("ballast: %v", err)
	}
	err = s.Apply(context.Background(), AddUser{By: admin, User: userNamed("refused")})
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "reserve") {
		t.Fatalf("write on a full disk: %v, want ErrDiskFull", err)
	}
	if users, err := s.Users(context.Background()); err != nil || len(users) != 20 {
		t.Fatalf("reads on a full disk: %d users, %v", len(users), err)
	}
	if _, err := s.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("audit on a full disk: %v", err)
	}
	if st := s.Stats(); st.Refused == 0 {
		t.Fatalf("refused writes not counted: %+v", st)
	}
	// Space comes back: writes resume without a restart, nothing was lost.
	os.Remove(ballast)
	addUser(t, s, "after", "N")
	s.Close()
	s2, err := Open(opts)
	if err != nil {
		t.Fatalf("reopen after a full disk: %v", err)
	}
	defer s2.Close()
	users, _ := s2.Users(context.Background())
	if len(users) != 21 {
		t.Fatalf("%d users after reopen, want 21", len(users))
	}
	if n, err := s2.VerifyAudit(context.Background()); err != nil || n != 21 {
		t.Fatalf("audit after a full disk: %d, %v", n, err)
	}
}
