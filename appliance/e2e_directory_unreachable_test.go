package appliance_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/wardline/wardline/internal/testkit"
)

// cuttableProxy forwards TCP to target until cut is called, which closes
// the listener and every connection.
type cuttableProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cuttableProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// With AD unreachable the sync fails with the reason in status, and the
// appliance keeps working on the last good directory: users stay enabled,
// their devices connect, search finds them.
func TestDirectoryUnreachableKeepsLastGood(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Gone")
	for i := 1; i <= 3; i++ {
		dc.Tool(t, "user", "create", fmt.Sprintf("gone%d", i), "Passw0rd!Gone", "--userou=OU=Gone")
	}
	proxy := newCuttableProxy(t, "127.0.0.1:636")
	via := *dc
	via.URL = "ldaps://" + proxy.ln.Addr().String()
	a := startWithAD(t, &via, ou, "1h")
	if out, code := syncNow(t, a); code != 0 {
		t.Fatalf("sync: %d %s", code, out)
	}
	out, errOut, code := a.CLI("device", "enroll", "--user", "gone1", "--json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var d struct{ ID, Secret string }
	json.Unmarshal([]byte(out), &d)
	proxy.cut()
	out, code = syncNow(t, a)
	if code != 1 || !strings.Contains(out, "cannot be reached") {
		t.Fatalf("sync with AD gone: exit %d %s, want 1 and the reason", code, out)
	}
	st, _, _ := a.CLI("directory", "status", "--json")
	var ds struct {
		Error       string `json:"error"`
		LastSuccess string `json:"last_success"`
		Users       int    `json:"users"`
	}
	json.Unmarshal([]byte(st), &ds)
	if ds.Error == "" || ds.LastSuccess == "" || ds.Users != 3 {
		t.Fatalf("status: %s", st)
	}
	if u := users(t, a); !u["gone1"].Enabled || !u["gone3"].Enabled {
		t.Fatalf("users after the failed sync: %+v", u)
	}
	if _, err := a.DialDevice(t, d.ID, d.Secret, nil); err != nil {
		t.Fatalf("device of gone1 with AD unreachable: %v", err)
	}
	if out, _, code := a.CLI("directory", "search", "gone", "--json"); code != 0 || !strings.Contains(out, "gone2") {
		t.Fatalf("search with AD unreachable: %s", out)
	}
}

// A wrong bind password or a DC certificate that does not verify: the sync
// fails with an error that says what to check, and changes nothing.
func TestDirectorySyncClearErrors(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Errs")
	dc.Tool(t, "user", "create", "errs1", "Passw0rd!Errs", "--userou=OU=Errs")
	wrongPW, otherCA := *dc, *dc
	wrongPW.BindPW = "not-the-password"
	otherCA.CAFile = dc.OtherCAFile
	for _, c := range []struct {
		name string
		dc   *testkit.Samba
		want string
	}{
		{"wrong bind password", &wrongPW, "check directory.ad.bind_dn and the password in bind_password_file"},
		{"certificate signed by another CA", &otherCA, "certificate does not verify (set directory.ad.ca_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := startWithAD(t, c.dc, ou, "1h")
			out, code := syncNow(t, a)
			if code != 1 || !strings.Contains(out, c.want) {
				t.Fatalf("directory sync: exit %d %q, want 1 and %q", code, out, c.want)
			}
			if len(users(t, a)) != 0 {
				t.Fatal("a failed sync added users")
			}
			st, _, _ := a.CLI("directory", "status", "--json")
			if !strings.Contains(st, c.want) {
				t.Fatalf("status does not hold the error: %s", st)
			}
		})
	}
}
