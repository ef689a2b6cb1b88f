// Package broker is the adapter for the embedded MQTT broker (mochi-mqtt).
//
// It owns the device-facing transport of the Wardline device API (see
// docs/device-api.md): the TLS, plain-TCP and WebSocket listeners, device
// authentication through an [Authenticator] supplied by the appliance, the
// topic ACL (a device may subscribe only below wl/v1/{id}/in/ and publish only
// to wl/v1/{id}/out/{send,ack,respond,req}), and a guard that validates the
// framing of every inbound MQTT packet before mochi decodes it, because mochi
// v2.7.9 panics on some malformed packets (mochi-mqtt/server#501).
//
// # Device to appliance
//
// A device's publish to its out/ topics goes to the [Handler] and mochi is
// told to reject it, so mochi neither acknowledges nor delivers it. The
// PUBACK is written by the broker when the Handler calls done, that is when
// the effect is durable: accepted means stored. PUBACKs of one connection go
// out in the order its publishes arrived, whatever the order of the done
// calls, and done never blocks (a goroutine writes them). Since mochi no
// longer counts these publishes, the broker enforces the Receive Maximum it
// announces (64 waiting publishes per connection; beyond that MQTT 5 gets
// DISCONNECT 0x93 and MQTT 3.1.1 is closed).
//
// # Appliance to device
//
// [Broker.Deliver] writes QoS 1 PUBLISH packets itself, with packet ids it
// allocates per connection, and frees a slot of the device's window (at
// most min(its Receive Maximum, 128) unacknowledged) when the device's
// PUBACK is read. Nothing is ever published through mochi to a device (its
// inline client is off and device publishes never fan out), so mochi's
// inflight map of a device connection stays empty. That is deliberate:
// in v2.7.9 Inflight.NextImmediate takes the map's read lock twice, and
// mochi calls it after every packet a client sends while that client has
// messages in flight; a concurrent delivery's Inflight.Set (write lock)
// queued between the two read locks deadlocks the connection and every
// goroutine delivering to it. With an empty map mochi never calls
// NextImmediate, and no other goroutine ever writes the map, so the
// deadlock cannot happen. mochi's inflight map would also drop messages
// (quota, expiry) and resend only on reconnect; the appliance's own store
// keeps every undelivered message and delivers it again after
// [Handler.Online].
//
// # Writes
//
// Every write to a device connection has a deadline (Options.WriteTimeout,
// 5 s by default); a write that misses it closes the connection. mochi
// holds a client's lock while it writes, so without it one device that
// stops reading would stall every goroutine writing to it for good.
//
// No mochi type appears in the exported API; the appliance wires the broker
// with plain Go values and interfaces.
package broker
