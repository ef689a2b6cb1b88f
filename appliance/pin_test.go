package appliance

import (
	"bytes"
	"context"
	"testing"

	"github.com/wardline/wardline/store"
)

func TestPINHash(t *testing.T) {
	ctx := context.Background()
	h, err := hashPIN(ctx, "482913")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(h.Hash, []byte("482913")) || len(h.Salt) != pinSaltLen || h.Alg != "argon2id" {
		t.Fatalf("stored form %+v", h)
	}
	h2, _ := hashPIN(ctx, "482913")
	if bytes.Equal(h.Hash, h2.Hash) {
		t.Fatal("two hashes of one PIN are equal: no salt")
	}
	cases := []struct {
		name string
		pin  string
		h    store.PINHash
		ok   bool
		err  bool
	}{
		{"right", "482913", *h, true, false},
		{"wrong", "482914", *h, false, false},
		{"prefix", "48291", *h, false, false},
		{"unknown alg", "482913", store.PINHash{Alg: "md5", Hash: h.Hash, Salt: h.Salt, Time: 1, Memory: 8, Threads: 1}, false, true},
		{"huge memory", "482913", store.PINHash{Alg: "argon2id", Hash: h.Hash, Salt: h.Salt, Time: 1, Memory: 1 << 30, Threads: 1}, false, true},
		{"no lanes", "482913", store.PINHash{Alg: "argon2id", Hash: h.Hash, Salt: h.Salt, Time: 1, Memory: 8}, false, true},
	}
	for _, c := range cases {
		ok, err := checkPIN(ctx, c.pin, c.h)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("%s: ok %v err %v", c.name, ok, err)
		}
	}
}
