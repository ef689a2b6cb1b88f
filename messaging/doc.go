// Package messaging holds Wardline's secure messaging concepts: messages,
// conversations, recipients and their delivery states, and the JSON of the
// device API (docs/device-api.md) that carries them.
//
// It is core: it depends on the standard library and the audit and
// directory packages only, and does no I/O. The store applies its rules in
// commands; the appliance moves its payloads over the broker.
package messaging
