package appliance_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wardline/wardline/internal/testkit"
)

// openRaw opens a stopped appliance's database directly with its key, as an
// intruder holding the key could, to tamper with the audit trail.
func openRaw(t *testing.T, data string) *badger.DB {
	t.Helper()
	b, err := os.ReadFile(data + ".key")
	if err != nil {
		t.Fatal(err)
	}
	var kf struct{ Key string }
	json.Unmarshal(b, &kf)
	key, _ := base64.StdEncoding.DecodeString(kf.Key)
	db, err := badger.Open(badger.DefaultOptions(filepath.Join(data, "db")).WithEncryptionKey(key).
		WithIndexCacheSize(1 << 20).WithLogger(nil).WithValueThreshold(1 << 10).WithMemTableSize(16 << 20))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("audit/"), seq)
}

var firstBadRE = regexp.MustCompile(`broken at event (\d+)`)

// TestAuditVerifyCLI runs a series of changes, checks that `wardline audit
// verify` passes, then alters, removes or swaps audit records behind the
// appliance's back and checks that it fails (exit 1) naming the first bad
// event.
func TestAuditVerifyCLI(t *testing.T) {
	bin, err := testkit.CLIBinary()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		tamper func(txn *badger.Txn) error
		want   string // the first bad event
	}{
		{"altered", func(txn *badger.Txn) error {
			item, err := txn.Get(auditKey(3))
			if err != nil {
				return err
			}
			v, _ := item.ValueCopy(nil)
			return txn.Set(auditKey(3), []byte(strings.Replace(string(v), `"outcome":"ok"`, `"outcome":"denied"`, 1)))
		}, "3"},
		{"removed", func(txn *badger.Txn) error { return txn.Delete(auditKey(4)) }, "4"},
		{"swapped", func(txn *badger.Txn) error {
			a, _ := txn.Get(auditKey(2))
			b, _ := txn.Get(auditKey(5))
			av, _ := a.ValueCopy(nil)
			bv, _ := b.ValueCopy(nil)
			if err := txn.Set(auditKey(2), bv); err != nil {
				return err
			}
			return txn.Set(auditKey(5), av)
		}, "2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := testkit.NewDataDir(t)
			a := testkit.Start(t, data)
			for i := 0; i < 4; i++ {
				if _, errOut, code := a.CLI("user", "add", fmt.Sprintf("u%d", i), "--name", "N"); code != 0 {
					t.Fatal(errOut)
				}
			}
			a.CLI("user", "disable", "u1")
			if out, errOut, code := a.CLI("audit", "verify"); code != 0 || !strings.Contains(out, "intact") {
				t.Fatalf("intact chain: exit %d: %s%s", code, out, errOut)
			}
			a.Stop()
			db := openRaw(t, data)
			if err := db.Update(c.tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			out, errOut, code := testkit.RunCLI(bin, "audit", "verify", "--data", data)
			m := firstBadRE.FindStringSubmatch(errOut)
			if code != 1 || m == nil || m[1] != c.want {
				t.Fatalf("audit verify after %s: exit %d, stdout %q, stderr %q; want exit 1 naming event %s", c.name, code, out, errOut, c.want)
			}
		})
	}
}
