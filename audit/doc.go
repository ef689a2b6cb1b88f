// Package audit defines Wardline's audit events and the hash chain that makes
// the audit trail tamper-evident.
//
// Every change of state and every read of protected health information appends
// one Event. Each event carries the hash of the event before it, so that a
// verifier walking the chain in sequence order detects any event that was
// altered, removed, inserted or reordered, and names the first bad one.
//
// The package is core: it depends on the standard library only and does no I/O.
// The store adapter appends events in the same transaction as the change they
// record, so that an action whose event cannot be written does not happen.
package audit
