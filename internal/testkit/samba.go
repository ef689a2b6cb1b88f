package testkit

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Samba is a throwaway Samba AD domain controller on 127.0.0.1, started by
// scripts/samba-dc.sh. Its ports are fixed (389, 636), so there is one per
// machine: the first test of a process that asks for it takes a lock file
// (other test processes wait for it) and provisions it; StopSamba, called
// from TestMain, stops it and releases the lock.
type Samba struct {
	Dir         string // the DC's directory
	URL         string // ldaps://127.0.0.1:636
	BaseDN      string // DC=hosp,DC=test
	BindDN      string // the Administrator (has every right)
	BindPW      string
	CAFile      string // the CA that signs the DC's certificate
	OtherCAFile string // a CA that does not
	Conf        string // smb.conf, for samba-tool
	SamLDB      string // the DC's database, for ldbadd
}

// sambaLock serialises DCs across test processes on this machine.
const sambaLock = "/tmp/wardline-samba-dc.lock"

var (
	sambaOnce sync.Once
	sambaDC   *Samba
	sambaErr  error
	sambaLk   *os.File
	// sambaUsers names the tests that have used the DC.
	sambaUsers struct {
		sync.Mutex
		seen map[string]bool
	}
)

// SambaDC returns the process's DC, provisioning it on first use. A
// missing Samba fails the test with how to install it.
func SambaDC(t testing.TB) *Samba {
	t.Helper()
	sambaOnce.Do(func() { sambaDC, sambaErr = startSamba() })
	sambaUsers.Lock()
	again := sambaUsers.seen[t.Name()]
	if sambaUsers.seen == nil {
		sambaUsers.seen = map[string]bool{}
	}
	sambaUsers.seen[t.Name()] = true
	if again && sambaErr == nil {
		// The same test again in this process (go test -count=N): its
		// users and OUs are already there, so it gets a fresh DC.
		StopSamba()
		sambaDC, sambaErr = startSamba()
		sambaUsers.seen = map[string]bool{t.Name(): true}
	}
	sambaUsers.Unlock()
	if sambaErr != nil {
		t.Fatalf("Samba AD DC: %v", sambaErr)
	}
	return sambaDC
}

// StopSamba stops the process's DC, if it started one, and removes it.
// Call it from TestMain after m.Run.
func StopSamba() {
	if sambaDC != nil {
		root, _ := ModuleRoot()
		_ = exec.Command(filepath.Join(root, "scripts", "samba-dc.sh"), "stop", sambaDC.Dir).Run()
		os.RemoveAll(filepath.Dir(sambaDC.Dir))
		sambaDC = nil
	}
	if sambaLk != nil {
		_ = os.Truncate(sambaLock, 0)
		sambaLk.Close() // releases the flock
		sambaLk = nil
	}
}

func startSamba() (*Samba, error) {
	for _, tool := range []string{"samba", "samba-tool", "ldbadd", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed: run scripts/install-deps.sh (or apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind krb5-user ldb-tools ldap-utils openssl)", tool)
		}
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("provisioning a Samba AD DC needs root (run make test as root, as CI does)")
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	lk, err := os.OpenFile(sambaLock, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lk.Fd()), syscall.LOCK_EX); err != nil {
		lk.Close()
		return nil, fmt.Errorf("lock %s: %w", sambaLock, err)
	}
	sambaLk = lk
	script := filepath.Join(root, "scripts", "samba-dc.sh")
	// A DC left by a test process that was killed: stop it by its record.
	if old, _ := os.ReadFile(sambaLock); len(old) > 0 {
		_ = exec.Command(script, "stop", strings.TrimSpace(string(old))).Run()
		os.RemoveAll(filepath.Dir(strings.TrimSpace(string(old))))
	}
	tmp, err := os.MkdirTemp("", "wardline-ad-")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "ad")
	_ = os.Truncate(sambaLock, 0)
	if _, err := lk.WriteAt([]byte(dir), 0); err != nil {
		return nil, err
	}
	out, err := exec.Command(script, "start", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("scripts/samba-dc.sh start: %v\n%s", err, out)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	s := &Samba{Dir: dir, URL: env["AD_URL"], BaseDN: env["AD_BASE_DN"], BindDN: env["AD_BIND_DN"], BindPW: env["AD_BIND_PW"],
		CAFile: env["AD_CA_FILE"], OtherCAFile: env["AD_OTHER_CA_FILE"], Conf: env["AD_CONF"], SamLDB: env["AD_SAM_LDB"]}
	if s.URL == "" || s.CAFile == "" {
		return nil, fmt.Errorf("scripts/samba-dc.sh printed no settings:\n%s", out)
	}
	return s, nil
}

// Tool runs samba-tool with args against the DC's database and fails the
// test when it fails.
func (s *Samba) Tool(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("samba-tool", append(args, "--configfile="+s.Conf)...).CombinedOutput()
	if err != nil {
		t.Fatalf("samba-tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Conn returns an LDAPS connection bound as the Administrator, closed when
// the test ends.
func (s *Samba) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	l, err := ldap.DialURL(s.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	l.SetTimeout(60 * time.Second)
	if err := l.Bind(s.BindDN, s.BindPW); err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// NewOU creates OU=name under the base DN (tests keep their users apart
// in OUs of their own) and returns its DN.
func (s *Samba) NewOU(t testing.TB, name string) string {
	t.Helper()
	dn := "OU=" + ldap.EscapeDN(name) + "," + s.BaseDN
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := s.Conn(t).Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// Modify replaces attributes of dn (attr → values; no values deletes it).
func (s *Samba) Modify(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewModifyRequest(dn, nil)
	for a, v := range attrs {
		req.Replace(a, v)
	}
	if err := s.Conn(t).Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// PasswordFile writes the Administrator's password into a file of the
// test (for bind_password_file) and returns its path.
func (s *Samba) PasswordFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ad-bind-password")
	if err := os.WriteFile(p, []byte(s.BindPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
