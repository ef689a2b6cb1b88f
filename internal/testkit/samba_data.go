package testkit

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// Data is the shape of a generated AD data set (Populate).
type Data struct {
	OU       string // created under the base DN: OU=<OU>, with OU=Users and OU=Groups
	Prefix   string // of every sAMAccountName (unique domain-wide)
	Users    int
	Groups   int
	Big      int    // members of group <prefix>g0000 (0: none)
	Password string // the first 3 users get it; "" for none
}

// DataFacts is what a test can check after Populate.
type DataFacts struct {
	UsersOU, GroupsOU string
	Disabled          int      // users created disabled (userAccountControl 514)
	BigGroup          string   // sAMAccountName of the big group
	Chain             []string // sAMAccountNames g0001 ⊃ g0004 ⊃ g0016 ⊃ g0064 (nested), when there are enough groups
	WithPassword      []string // sAMAccountNames with Password
}

// Names, departments and titles with accents, apostrophes and non-Latin
// letters, as a hospital's AD has them.
var (
	dataGiven = []string{"Anna", "Jürgen", "Zoë", "José", "François", "Łukasz", "Søren", "Ana", "Mehmet", "Siobhán", "Thi", "Minh", "Chloé", "Björn", "Ólafur", "Yuki"}
	dataSur   = []string{"Müller", "Nguyễn", "Schmidt", "O'Brien", "García", "Øster", "Çelik", "Kowalski", "Lefèvre", "Đặng", "Weiß", "Yılmaz", "Ivanova", "Tanaka", "Rossi", "Lee"}
	dataDepts = []string{"Cardiology", "Notaufnahme", "Pédiatrie", "Radiology", "Oncology", "Intensivstation", "Pharmacy", "Neurología"}
	dataTitle = []string{"Nurse", "Physician", "Technician", "Pharmacist", "Clerk", "Resident", "Ärztin"}
)

// Populate loads a deterministic data set into the DC with ldbadd on its
// database, in transactions of 250 entries (Samba's cost per add grows
// with the objects already there, and much more inside one huge
// transaction): about 5% disabled users, 10% without mail, 15% without
// department, 5% with a "Surname, Given" CN (an escaped comma in the DN),
// every user in about 3 groups, one big group, a nesting tree (the parent
// of gN is gN/4).
func (s *Samba) Populate(t testing.TB, d Data) DataFacts {
	t.Helper()
	rnd := rand.New(rand.NewPCG(42, uint64(d.Users)))
	realm := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s.BaseDN, "DC=", ""), ",", "."))
	top := "OU=" + d.OU + "," + s.BaseDN
	f := DataFacts{UsersOU: "OU=Users," + top, GroupsOU: "OU=Groups," + top}
	var users, groups strings.Builder
	for _, dn := range []string{top, f.UsersOU, f.GroupsOU} {
		fmt.Fprintf(&users, "dn: %s\nobjectClass: organizationalUnit\n\n", dn)
	}
	pw := base64.StdEncoding.EncodeToString(utf16le(`"` + d.Password + `"`))
	dns := make([]string, d.Users)
	for i := range d.Users {
		sam := fmt.Sprintf("%su%05d", d.Prefix, i)
		g, sn := dataGiven[rnd.IntN(len(dataGiven))], dataSur[rnd.IntN(len(dataSur))]
		cn := g + " " + sn + " " + sam
		if rnd.Float64() < 0.05 {
			cn = sn + ", " + g + " " + sam
		}
		dns[i] = "CN=" + ldap.EscapeDN(cn) + "," + f.UsersOU
		uac := 512
		if rnd.Float64() < 0.05 {
			uac = 514
			f.Disabled++
		}
		ldifLine(&users, "dn", dns[i])
		users.WriteString("objectClass: user\n")
		fmt.Fprintf(&users, "sAMAccountName: %s\nuserPrincipalName: %s@%s\n", sam, sam, realm)
		ldifLine(&users, "givenName", g)
		ldifLine(&users, "sn", sn)
		ldifLine(&users, "displayName", g+" "+sn)
		if rnd.Float64() >= 0.10 {
			fmt.Fprintf(&users, "mail: %s@%s\n", sam, realm)
		}
		if rnd.Float64() >= 0.15 {
			ldifLine(&users, "department", dataDepts[rnd.IntN(len(dataDepts))])
		}
		ldifLine(&users, "title", dataTitle[rnd.IntN(len(dataTitle))])
		fmt.Fprintf(&users, "userAccountControl: %d\n", uac)
		if d.Password != "" && i < 3 {
			fmt.Fprintf(&users, "unicodePwd:: %s\n", pw)
			f.WithPassword = append(f.WithPassword, sam)
		}
		users.WriteString("\n")
	}
	members := make([]map[string]bool, d.Groups)
	for i := range members {
		members[i] = map[string]bool{}
	}
	if d.Groups > 0 {
		for _, j := range rnd.Perm(d.Users)[:min(d.Big, d.Users)] {
			members[0][dns[j]] = true
		}
		f.BigGroup = fmt.Sprintf("%sg0000", d.Prefix)
	}
	if d.Groups > 1 {
		for _, u := range dns {
			for range 3 {
				members[1+rnd.IntN(d.Groups-1)][u] = true
			}
		}
	}
	gdn := func(i int) string { return fmt.Sprintf("CN=%sg%04d,%s", d.Prefix, i, f.GroupsOU) }
	for i := d.Groups - 1; i >= 0; i-- { // children before parents: members must exist
		ldifLine(&groups, "dn", gdn(i))
		fmt.Fprintf(&groups, "objectClass: group\nsAMAccountName: %sg%04d\n", d.Prefix, i)
		var ms []string
		for m := range members[i] {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		for c := 4 * i; c < min(4*i+4, d.Groups, 100); c++ {
			if c >= 4 && c/4 == i {
				ms = append(ms, gdn(c))
			}
		}
		for _, m := range ms {
			ldifLine(&groups, "member", m)
		}
		groups.WriteString("\n")
	}
	for _, i := range []int{1, 4, 16, 64} {
		if i < d.Groups {
			f.Chain = append(f.Chain, fmt.Sprintf("%sg%04d", d.Prefix, i))
		}
	}
	dir := t.TempDir()
	for _, part := range []struct{ name, ldif string }{{"users", users.String()}, {"groups", groups.String()}} {
		entries := strings.Split(strings.TrimSpace(part.ldif), "\n\n")
		for c := 0; c < len(entries); c += 250 {
			file := filepath.Join(dir, fmt.Sprintf("%s-%06d.ldif", part.name, c))
			if err := os.WriteFile(file, []byte(strings.Join(entries[c:min(c+250, len(entries))], "\n\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("ldbadd", "-H", s.SamLDB, file).CombinedOutput(); err != nil {
				t.Fatalf("ldbadd %s: %v\n%s", file, err, out)
			}
		}
	}
	return f
}

// ldifLine writes one LDIF line, base64 when the value is not plain ASCII.
func ldifLine(b *strings.Builder, attr, val string) {
	safe := val != "" && val[0] != ' ' && val[0] != ':' && val[0] != '<' && !strings.HasSuffix(val, " ")
	for i := 0; i < len(val) && safe; i++ {
		safe = val[i] >= 0x20 && val[i] < 0x7f
	}
	if safe {
		fmt.Fprintf(b, "%s: %s\n", attr, val)
		return
	}
	fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(val)))
}

// utf16le encodes s as UTF-16LE, as AD wants unicodePwd.
func utf16le(s string) []byte {
	var out []byte
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			out = append(out, byte(hi), byte(hi>>8), byte(lo), byte(lo>>8))
			continue
		}
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}
