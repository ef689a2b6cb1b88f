// Package loadgen loads an MQTT broker the way Wardline's devices do and
// measures it: `wardline bench` runs it against the appliance's device API
// (and, for comparison, a bare mochi-mqtt broker, and the device API on
// Wardline's broker with nothing stored: ProtocolBroker), `wardline sim`
// is one interactive badge.
//
// A run connects its devices (MQTT 5, persistent sessions), lets the first
// few send at a given rate or as fast as their in-flight window allows, and
// records every send (its PUBACK and how long it took) and every receipt
// (which recipient, how long after the send, whether it had it already).
// From these it counts what was acknowledged but not delivered (lost) and
// what was delivered twice (duplicates), and the latency percentiles. The
// body of each message names its sender, sequence number and send time,
// so receipts need no lookup table and clocks are the same process's.
//
// The package is for measurement and demos: it never logs per message and
// keeps its own overhead low (lock-free records, latencies sorted once at
// the end).
package loadgen
