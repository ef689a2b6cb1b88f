package ldapsync

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardline/wardline/internal/testkit"
)

// config returns a Config for the test DC with base DN base.
func config(dc *testkit.Samba, base string) Config {
	return Config{URL: dc.URL, CAFile: dc.CAFile, BindDN: dc.BindDN, BindPassword: dc.BindPW, BaseDN: base, Timeout: 20 * time.Second}
}

func newReader(t *testing.T, cfg Config) *Reader {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The data set: a 5,000-member group, nesting, accents, users without mail
// or department, escaped commas in DNs, paging past AD's 1,000 limit.
func TestReadPopulatedDirectory(t *testing.T) {
	dc := testkit.SambaDC(t)
	facts := dc.Populate(t, testkit.Data{OU: "Pop", Prefix: "p", Users: 5100, Groups: 110, Big: 5000, Password: "Passw0rd!Bench"})
	r := newReader(t, config(dc, "OU=Pop,"+dc.BaseDN))
	start := time.Now()
	d, st, err := r.Read(context.Background(), false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("full read of %d users and %d groups in %v", st.Users, st.Groups, time.Since(start))
	if !st.Full || len(d.Users) != 5100 || len(d.Groups) != 110 {
		t.Fatalf("read %d users, %d groups (full %t), want 5100 and 110", len(d.Users), len(d.Groups), st.Full)
	}
	byGUID := map[string]User{}
	disabled, noMail, noDept, accents, commas := 0, 0, 0, 0, 0
	for _, u := range d.Users {
		byGUID[u.GUID] = u
		if !u.Enabled {
			disabled++
			if u.Disabled != "disabled in AD" {
				t.Errorf("%s: reason %q", u.Login, u.Disabled)
			}
		}
		if u.Email == "" {
			noMail++
		}
		if u.Department == "" {
			noDept++
		}
		if strings.ContainsAny(u.Name, "üễŁłøßı") {
			accents++
		}
		if strings.Contains(u.DN, `\,`) {
			commas++
		}
	}
	if disabled != facts.Disabled || noMail == 0 || noDept == 0 || accents == 0 || commas == 0 {
		t.Fatalf("disabled %d (want %d), no mail %d, no department %d, accented names %d, escaped commas %d: each must be > 0",
			disabled, facts.Disabled, noMail, noDept, accents, commas)
	}
	groups := map[string]Group{}
	for _, g := range d.Groups {
		groups[g.Name] = g
	}
	if n := len(groups[facts.BigGroup].Members); n != 5000 {
		t.Fatalf("big group has %d members, want 5000", n)
	}
	// Nested: the top of the chain holds the bottom's members.
	top, bottom := groups[facts.Chain[0]], groups[facts.Chain[len(facts.Chain)-1]]
	in := map[string]bool{}
	for _, m := range top.Members {
		in[m] = true
	}
	for _, m := range bottom.Members {
		if !in[m] {
			t.Fatalf("member %s of %s is not in %s (nesting not flattened)", m, bottom.Name, top.Name)
		}
	}
	if len(top.Members) <= len(bottom.Members) {
		t.Fatalf("top group %d members, bottom %d", len(top.Members), len(bottom.Members))
	}
	// Nothing changed: the next read is incremental and reads nothing.
	_, st, err = r.Read(context.Background(), false, time.Now())
	if err != nil || st.Full || st.Changed {
		t.Fatalf("second read: %+v, %v; want an unchanged incremental read", st, err)
	}
	// Password sign-in by binding as the user.
	u := byLogin(d, facts.WithPassword[0])
	if err := r.Authenticate(context.Background(), u.DN, u.UPN, "Passw0rd!Bench"); err != nil {
		t.Fatalf("bind as %s: %v", u.Login, err)
	}
	if err := r.Authenticate(context.Background(), u.DN, u.UPN, "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v, want ErrBadCredentials", err)
	}
	// A filter-like password or DN is just a value to AD.
	if err := r.Authenticate(context.Background(), "*)(objectClass=*", "", "*"); err == nil {
		t.Fatal("a bind with a filter for a DN succeeded")
	}
}

func byLogin(d *Directory, login string) User {
	for _, u := range d.Users {
		if u.Login == login {
			return u
		}
	}
	return User{}
}

func TestConnectionErrors(t *testing.T) {
	dc := testkit.SambaDC(t)
	good := config(dc, dc.BaseDN)
	startTLS := good
	startTLS.URL, startTLS.StartTLS = "ldap://127.0.0.1:389", true
	otherCA := good
	otherCA.CAFile = dc.OtherCAFile
	systemRoots := good
	systemRoots.CAFile = ""
	wrongPW := good
	wrongPW.BindPassword = "not-the-password"
	refused := good
	refused.URL = "ldaps://127.0.0.1:1" // nothing listens
	cases := []struct {
		name string
		cfg  Config
		want error // nil: the read works
	}{
		{"ldaps", good, nil},
		{"starttls", startTLS, nil},
		{"certificate signed by another CA", otherCA, ErrCertificate},
		{"system roots do not know the test CA", systemRoots, ErrCertificate},
		{"wrong bind password", wrongPW, ErrBindFailed},
		{"nothing listening", refused, ErrUnreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := newReader(t, c.cfg).Read(context.Background(), true, time.Now())
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Read = %v, want %v", err, c.want)
			}
			if c.want == ErrBindFailed && !strings.Contains(err.Error(), "bind_dn") {
				t.Fatalf("error %q does not say what to check", err)
			}
		})
	}
}

// A server that accepts and never answers: the read gives up after the
// timeout.
func TestTimeout(t *testing.T) {
	dc := testkit.SambaDC(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := config(dc, dc.BaseDN)
	cfg.URL, cfg.Timeout = "ldaps://"+ln.Addr().String(), time.Second
	start := time.Now()
	_, _, err = newReader(t, cfg).Read(context.Background(), true, time.Now())
	if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Read = %v, want a timeout", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("gave up after %v", took)
	}
}

// dropProxy forwards TCP to the DC and cuts every connection after limit
// bytes from the server.
func dropProxy(t *testing.T, target string, limit int64) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				var once sync.Once
				done := make(chan struct{})
				go func() { io.Copy(s, c); once.Do(func() { close(done) }) }()
				go func() { io.CopyN(c, s, limit); once.Do(func() { close(done) }) }()
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

// The server drops the connection mid-read: the read fails and the last
// good directory stays as it was.
func TestDropMidSync(t *testing.T) {
	dc := testkit.SambaDC(t)
	dc.Populate(t, testkit.Data{OU: "Drop", Prefix: "d", Users: 300, Groups: 5, Big: 100})
	ou := "OU=Drop," + dc.BaseDN
	r := newReader(t, config(dc, ou))
	d, _, err := r.Read(context.Background(), true, time.Now())
	if err != nil || len(d.Users) != 300 {
		t.Fatalf("first read: %d users, %v", len(d.Users), err)
	}
	dc.Tool(t, "user", "create", "drop4", "Passw0rd!Drop", "--userou=OU=Users,OU=Drop")
	cut := r.cfg
	cut.URL = "ldaps://" + dropProxy(t, "127.0.0.1:636", 30000) // past the handshake and bind, inside the search
	broken := &Reader{cfg: cut, m: r.m}
	if _, _, err := broken.Read(context.Background(), true, time.Now()); err == nil {
		t.Fatal("a read through a connection cut midway succeeded")
	}
	if got := broken.Directory(time.Now()); len(got.Users) != 300 {
		t.Fatalf("after the cut the mirror holds %d users, want the last good 300", len(got.Users))
	}
}

// Incremental reads see creation, renames, moves between groups,
// disabling, deletion and expiry.
func TestIncrementalChanges(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Inc")
	dc.Tool(t, "user", "create", "inc1", "Passw0rd!Inc", "--userou=OU=Inc", "--given-name=Zoë", "--surname=Müller")
	dc.Tool(t, "user", "create", "inc2", "Passw0rd!Inc", "--userou=OU=Inc")
	dc.Tool(t, "group", "add", "IncParent", "--groupou=OU=Inc")
	dc.Tool(t, "group", "add", "IncChild", "--groupou=OU=Inc")
	dc.Tool(t, "group", "addmembers", "IncParent", "IncChild")
	dc.Tool(t, "group", "addmembers", "IncChild", "inc1")
	r := newReader(t, config(dc, ou))
	read := func(wantFull bool) *Directory {
		t.Helper()
		d, st, err := r.Read(context.Background(), false, time.Now())
		if err != nil || st.Full != wantFull {
			t.Fatalf("read: %+v, %v", st, err)
		}
		return d
	}
	d := read(true)
	inc1 := byLogin(d, "inc1")
	if inc1.Name != "Zoë Müller" || !members(d, "incparent")[inc1.GUID] {
		t.Fatalf("inc1 = %+v, parent members %v", inc1.User, members(d, "incparent"))
	}
	dc.Tool(t, "group", "removemembers", "IncChild", "inc1")
	dc.Tool(t, "group", "addmembers", "IncChild", "inc2")
	dc.Tool(t, "user", "disable", "inc2")
	d = read(false)
	if members(d, "incparent")[inc1.GUID] || !members(d, "incparent")[byLogin(d, "inc2").GUID] || byLogin(d, "inc2").Enabled {
		t.Fatalf("after the move and disable: parent %v, inc2 %+v", members(d, "incparent"), byLogin(d, "inc2").User)
	}
	dc.Modify(t, inc1.DN, map[string][]string{"sAMAccountName": {"inc1new"}, "displayName": {"Zoë Renamed"}})
	d = read(false)
	if u := byLogin(d, "inc1new"); u.GUID != inc1.GUID || u.Name != "Zoë Renamed" {
		t.Fatalf("after the rename: %+v", u.User)
	}
	// accountExpires in the past: expired.
	dc.Modify(t, byLogin(d, "inc1new").DN, map[string][]string{"accountExpires": {"130000000000000000"}}) // 2012
	d = read(false)
	if u := byLogin(d, "inc1new"); u.Enabled || u.Disabled != "expired" {
		t.Fatalf("expired user: %+v", u.User)
	}
	dc.Tool(t, "user", "delete", "inc2") // seen through its tombstone
	d = read(false)
	if len(d.Users) != 1 {
		t.Fatalf("after the delete: %d users", len(d.Users))
	}
	// Moved out of the base DN: gone from the directory.
	out := dc.NewOU(t, "IncOut")
	dc.Tool(t, "user", "create", "inc3", "Passw0rd!Inc", "--userou=OU=Inc")
	dc.Tool(t, "user", "create", "inc4", "Passw0rd!Inc", "--userou=OU=Inc")
	if d = read(false); len(d.Users) != 3 {
		t.Fatalf("after two creates: %d users", len(d.Users))
	}
	dc.Tool(t, "user", "move", "inc3", out)
	if d = read(false); len(d.Users) != 2 || byLogin(d, "inc3").GUID != "" {
		t.Fatalf("after the move out: %d users", len(d.Users))
	}
	// The periodic full listing of objectGUIDs finds deletions too.
	dc.Tool(t, "user", "delete", "inc4")
	r.listed = time.Time{}
	if d = read(false); len(d.Users) != 1 || byLogin(d, "inc4").GUID != "" {
		t.Fatalf("after the delete seen by listing: %d users", len(d.Users))
	}
}

func members(d *Directory, group string) map[string]bool {
	out := map[string]bool{}
	for _, g := range d.Groups {
		if g.Name == group {
			for _, m := range g.Members {
				out[m] = true
			}
		}
	}
	return out
}

// Odd encodings in attribute values: bidi overrides, zero-width and
// control characters are dropped, accents kept; a mail that is not one is
// left out; a user without mail or department is fine.
func TestOddAttributeValues(t *testing.T) {
	dc := testkit.SambaDC(t)
	ou := dc.NewOU(t, "Odd")
	dc.Tool(t, "user", "create", "odd1", "Passw0rd!Odd", "--userou=OU=Odd")
	dc.Tool(t, "user", "create", "odd2", "Passw0rd!Odd", "--userou=OU=Odd")
	r := newReader(t, config(dc, ou))
	d, _, err := r.Read(context.Background(), true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dc.Modify(t, byLogin(d, "odd1").DN, map[string][]string{
		"displayName": {"Ana\u202e\u0007 Lee\u200b"}, "department": {"  Pédiatrie\t"}, "mail": {"not a mail"},
		"telephoneNumber": {"+49 30 1234\u0007"}, "title": {strings.Repeat("é", 64)},
	})
	d, _, err = r.Read(context.Background(), false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u := byLogin(d, "odd1")
	if u.Name != "Ana Lee" || u.Department != "Pédiatrie" || u.Email != "" || u.Title != strings.Repeat("é", 64) || len(u.Phones) != 1 || u.Phones[0] != "+49 30 1234" {
		t.Fatalf("odd1 = %+v", u.User)
	}
	if got, err := u.User.Normalize(); err != nil {
		t.Fatalf("the cleaned user does not pass the directory's rules: %v (%+v)", err, got)
	}
	if v := byLogin(d, "odd2"); v.Email != "" || v.Department != "" || v.Name != "odd2" {
		t.Fatalf("odd2 without mail, department or name = %+v", v.User)
	}
}
