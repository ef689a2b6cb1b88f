package store

import (
	"bytes"
	"encoding/json"
)

// decodeMemo keeps the decoded form of the records a command decodes again
// and again (users, conversations, device lists), next to the exact bytes
// they were decoded from: a record whose bytes are unchanged is not decoded
// again (JSON decoding of these records was a tenth of the committer's
// work at full load). It belongs to the read cache, so only the committer
// goroutine uses it. A hit is checked against the bytes the command sees
// (pending writes included), so it can never return a stale value.
type decodeMemo map[string]memoEntry

type memoEntry struct {
	raw []byte // owned: never changed after it is stored
	val any
}

// maxMemo bounds the memo; when full it starts again empty.
const maxMemo = 100_000

// getDecoded reads key through r and decodes its JSON value into a T. Inside
// a command (r is a *Txn) it reuses the value decoded from the same bytes
// before; clone must return a copy that shares nothing the caller may
// change (slices), because the memo keeps its own.
func getDecoded[T any](r getter, key []byte, clone func(T) T) (T, error) {
	var v T
	tx, ok := r.(*Txn)
	if !ok {
		b, err := r.Get(key)
		if err != nil {
			return v, err
		}
		return v, json.Unmarshal(b, &v)
	}
	b, err := tx.peek(key)
	if err != nil {
		return v, err
	}
	memo := tx.cache.memo
	if e, ok := memo[string(key)]; ok && bytes.Equal(e.raw, b) {
		if mv, ok := e.val.(T); ok {
			return clone(mv), nil
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, err
	}
	if len(memo) >= maxMemo {
		clear(memo)
	}
	memo[string(key)] = memoEntry{raw: bytes.Clone(b), val: v}
	return clone(v), nil
}

// putRemembered writes v as JSON under key, as putJSON does, and remembers
// a copy of v (made by clone) as the decoded form of those bytes, so that
// the next command that reads the record does not decode it: for records
// that change with every message (a member's conversation-list entry).
func putRemembered[T any](tx *Txn, key []byte, v T, clone func(T) T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.writes[string(key)] = &write{val: b}
	memo := tx.cache.memo
	if len(memo) >= maxMemo {
		clear(memo)
	}
	memo[string(key)] = memoEntry{raw: b, val: clone(v)}
	return nil
}
