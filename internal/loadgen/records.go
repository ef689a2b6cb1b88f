package loadgen

import "sync/atomic"

// States of a send.
const (
	stateNone     uint32 = iota // not sent (yet)
	stateInflight               // published, no PUBACK yet
	stateAcked                  // PUBACK reason 0: accepted
	stateRefused                // PUBACK reason >= 0x80
	stateFailed                 // no PUBACK: timeout or connection lost
)

// record is one send and what became of it. Its recipients are numbered
// 0..want-1 in the bitmap: in 1:1 mode the single recipient is bit 0, in
// group mode bit i is the group member with device index i.
type record struct {
	sentAt atomic.Int64 // unix nanoseconds when the publish started
	puback atomic.Int64 // nanoseconds from the publish to its PUBACK
	state  atomic.Uint32
	to     atomic.Int32 // 1:1: the recipient's device index
	want   atomic.Int32 // how many devices should receive it
	got    atomic.Int32
	lastAt atomic.Int64 // unix nanoseconds when the last recipient had it
	bits   []atomic.Uint64
}

const (
	chunkShift = 12
	chunkSize  = 1 << chunkShift
	maxChunks  = 1 << 14 // 67 million sends per sender
)

// chunk is a block of records with their recipient bitmaps.
type chunk struct {
	recs [chunkSize]record
}

// table holds the records of every sender, found by (sender, seq) without
// locks: chunks are created on first use and never move.
type table struct {
	words   int // bitmap words per record
	senders [][maxChunks]atomic.Pointer[chunk]
}

func newTable(senders, recipients int) *table {
	return &table{words: (recipients + 63) / 64, senders: make([][maxChunks]atomic.Pointer[chunk], senders)}
}

// get returns the record of a send, creating its chunk when create is set;
// nil when it does not exist.
func (t *table) get(sender int, seq uint64, create bool) *record {
	if sender < 0 || sender >= len(t.senders) || seq >= maxChunks*chunkSize {
		return nil
	}
	slot := &t.senders[sender][seq>>chunkShift]
	c := slot.Load()
	if c == nil {
		if !create {
			return nil
		}
		c = t.newChunk()
		if !slot.CompareAndSwap(nil, c) {
			c = slot.Load()
		}
	}
	return &c.recs[seq&(chunkSize-1)]
}

func (t *table) newChunk() *chunk {
	c := new(chunk)
	backing := make([]atomic.Uint64, chunkSize*t.words)
	for i := range c.recs {
		c.recs[i].bits = backing[i*t.words : (i+1)*t.words : (i+1)*t.words]
	}
	return c
}

// each calls f for every record of every sender up to the sequence numbers
// in sent (sent[s] is the number of sequence numbers sender s handed out).
func (t *table) each(sent []uint64, f func(*record)) {
	for s := range t.senders {
		for seq := uint64(0); seq < sent[s]; seq++ {
			if r := t.get(s, seq, false); r != nil {
				f(r)
			}
		}
	}
}

// mark notes that recipient bit i received the record at unix nanoseconds
// now. It reports false when that recipient had it already (a duplicate).
func (r *record) mark(i int, now int64) bool {
	if i < 0 || i/64 >= len(r.bits) {
		return false
	}
	w, m := &r.bits[i/64], uint64(1)<<(i%64)
	for {
		old := w.Load()
		if old&m != 0 {
			return false
		}
		if w.CompareAndSwap(old, old|m) {
			break
		}
	}
	r.got.Add(1)
	for {
		last := r.lastAt.Load()
		if now <= last || r.lastAt.CompareAndSwap(last, now) {
			return true
		}
	}
}
