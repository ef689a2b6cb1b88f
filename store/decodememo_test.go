package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/wardline/wardline/messaging"
)

// TestDecodeMemoNeverStale reads one conversation record again and again
// inside commands while it changes: every read sees the bytes the command
// sees (its own writes, its batch's, the durable ones), a caller that
// changes what it got does not change the next read, and a deleted record
// is not found.
func TestDecodeMemoNeverStale(t *testing.T) {
	s, _ := openTemp(t)
	key := []byte(prefixConv + "cnv_memo")
	put := func(tx *Txn, members ...string) {
		if err := putJSON(tx, key, messaging.Conversation{ID: "cnv_memo", Members: members}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(tx *Txn) ([]string, error) {
		c, err := getConversation(tx, "cnv_memo")
		return c.Members, err
	}
	steps := []struct {
		name string
		do   func(tx *Txn) ([]string, error)
		want []string // nil: want ErrNotFound
	}{
		{"durable value, first read", func(tx *Txn) ([]string, error) { return read(tx) }, []string{"a", "b"}},
		{"caller changes what it got", func(tx *Txn) ([]string, error) {
			m, err := read(tx)
			if err == nil {
				m[0] = "changed"
			}
			return read(tx)
		}, []string{"a", "b"}},
		{"own write, then read", func(tx *Txn) ([]string, error) { put(tx, "a", "c"); return read(tx) }, []string{"a", "c"}},
		{"the committed write, next command", func(tx *Txn) ([]string, error) { return read(tx) }, []string{"a", "c"}},
		{"same bytes written back", func(tx *Txn) ([]string, error) { put(tx, "a", "c"); return read(tx) }, []string{"a", "c"}},
		{"deleted in the command", func(tx *Txn) ([]string, error) { tx.Delete(key); return read(tx) }, nil},
		{"deleted, next command", func(tx *Txn) ([]string, error) { return read(tx) }, nil},
		{"written again", func(tx *Txn) ([]string, error) { put(tx, "z"); return read(tx) }, []string{"z"}},
		{"remembered write, then the writer changes its value", func(tx *Txn) ([]string, error) {
			c := messaging.Conversation{ID: "cnv_memo", Members: []string{"r", "s"}}
			if err := putRemembered(tx, key, c, cloneConversation); err != nil {
				return nil, err
			}
			c.Members[0] = "changed"
			return read(tx)
		}, []string{"r", "s"}},
		{"remembered write, next command", func(tx *Txn) ([]string, error) { return read(tx) }, []string{"r", "s"}},
	}
	if err := s.Apply(context.Background(), funcCommand(func(tx *Txn) error { put(tx, "a", "b"); return nil })); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		var got []string
		var gotErr error
		if err := s.Apply(context.Background(), funcCommand(func(tx *Txn) error {
			got, gotErr = st.do(tx)
			return nil
		})); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		switch {
		case st.want == nil && !errors.Is(gotErr, ErrNotFound):
			t.Errorf("%s: got %v, %v; want not found", st.name, got, gotErr)
		case st.want != nil && (gotErr != nil || !slices.Equal(got, st.want)):
			t.Errorf("%s: got %v, %v; want %v", st.name, got, gotErr, st.want)
		}
	}
}

// TestDecodeMemoBounded decodes more records than the memo holds (inside
// one command that then fails, so that none of them is written): it starts
// again empty instead of growing.
func TestDecodeMemoBounded(t *testing.T) {
	s, _ := openTemp(t)
	errDone := errors.New("done")
	err := s.Apply(context.Background(), funcCommand(func(tx *Txn) error {
		for i := range maxMemo + 10 {
			id := "u" + strconv.Itoa(i)
			tx.Set(userDevicesKey(id), []byte(`["d1"]`))
			if ids, err := userDevices(tx, id); err != nil || !slices.Equal(ids, []string{"d1"}) {
				return fmt.Errorf("read back %s: %v %v", id, ids, err)
			}
			if n := len(tx.cache.memo); n > maxMemo {
				return fmt.Errorf("memo holds %d, bound %d", n, maxMemo)
			}
		}
		return errDone
	}))
	if !errors.Is(err, errDone) {
		t.Fatal(err)
	}
}
