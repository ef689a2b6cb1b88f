// Package store is Wardline's system of record: an encrypted Badger database
// with one write path.
//
// Every change of state is a Command applied by a single committer goroutine
// in one transaction of its own; the committer gathers the commands that are
// waiting into one Badger transaction and one fsync (group commit), so that
// concurrent writers share the cost of durability. Apply returns only after
// the command's effect and its audit event are synced to disk: what the store
// reports as written survives kill -9 and power loss.
//
// Encryption at rest is always on (AES-256, Badger's own encryption with a
// master key kept in a key file apart from the data). Backups are encrypted
// with a key derived from the master key and authenticated chunk by chunk.
//
// Every command appends an audit event to a hash chain in the same
// transaction as its effect; if the event cannot be written, neither is the
// effect (audit fails closed).
//
// The package is an adapter: it exports no Badger types.
package store
