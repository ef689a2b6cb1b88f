package store

import (
	"fmt"
	"testing"
)

// TestReadCacheKeepsRecordsInUse passes many more records through the
// cache than it holds: one read again and again stays, the size stays
// bounded, and a deleted or forgotten record is gone from both generations.
func TestReadCacheKeepsRecordsInUse(t *testing.T) {
	c := newReadCache()
	hot := prefixConv + "hot"
	c.fill(hot, []byte("h"))
	for i := range 5 * maxCached {
		c.fill(fmt.Sprintf("%s%07d", prefixConv, i), []byte("x"))
		if i%1000 == 0 {
			if v, ok := c.get(hot); !ok || string(v) != "h" {
				t.Fatalf("after %d others the record in use is gone", i)
			}
		}
		if n := len(c.young) + len(c.old); n > 2*maxCached {
			t.Fatalf("%d records cached, bound %d", n, 2*maxCached)
		}
	}
	if _, ok := c.get(prefixConv + "0000000"); ok {
		t.Fatal("a record read once long ago is still cached")
	}
	c.committed(map[string]*write{hot: {del: true}})
	if _, ok := c.get(hot); ok {
		t.Fatal("a deleted record is still cached")
	}
	c.fill(hot, []byte("h"))
	c.old, c.young = c.young, map[string][]byte{}
	c.forget(map[string]*write{hot: {val: []byte("new")}})
	if _, ok := c.get(hot); ok {
		t.Fatal("a record of a failed batch is still cached")
	}
	c.fill(prefixAudit+"x", []byte("a"))
	if _, ok := c.get(prefixAudit + "x"); ok {
		t.Fatal("an audit record was cached")
	}
}
