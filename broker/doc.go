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
// No mochi type appears in the exported API; the appliance wires the broker
// with plain Go values and interfaces.
package broker
