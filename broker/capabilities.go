package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"
)

// receiveMaximum is the Receive Maximum the broker announces in CONNACK:
// the QoS 1 publishes a device may have waiting for a PUBACK. mochi never
// counts them (handOver rejects every publish to mochi), so admit enforces it.
const receiveMaximum = 64

// maxPacketSize is the largest MQTT packet accepted from a device: 64 KiB
// of payload and headroom for the topic and properties.
const maxPacketSize = 65536 + 1024

// mochiOptions configures mochi deliberately; every value differing from
// mochi's defaults is there for a reason given beside it.
func (b *Broker) mochiOptions() *mqtt.Options {
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClients = int64(b.opts.MaxConnections)
	// 0 = no broker-wide cap. mochi's default of 24 h silently drops
	// inflight and queued messages of a device offline for a day
	// (mochi#444); messages carry their own expiry if any, and the
	// appliance's store, not mochi, keeps undelivered messages.
	caps.MaximumMessageExpiryInterval = 0
	caps.MaximumSessionExpiryInterval = 72 * 3600 // a few shifts
	caps.MaximumPacketSize = maxPacketSize
	caps.MinimumProtocolVersion = 4      // MQTT 3.1.1 and 5
	caps.MaximumQos = 1                  // the device API uses QoS 1 only
	caps.RetainAvailable = 0             // devices may not retain; nothing is retained
	caps.SharedSubAvailable = 0          // $share/... is refused by the ACL anyway
	caps.TopicAliasMaximum = 0           // no inbound topic aliases: the ACL sees every topic
	caps.ReceiveMaximum = receiveMaximum // announced; enforced by admit (acks.go)
	// mochi's inflight map stays empty for devices (Deliver writes its own
	// PUBLISHes); this only caps the client Receive Maximum mochi records.
	caps.MaximumInflight = 1024
	// mochi's per-client outbound queue (8 bytes a slot, allocated per
	// connection) feeds only its own fan-out, which never reaches a device.
	caps.MaximumClientWritesPending = 16
	// A QoS 1 PUBACK with properties would echo them with reason 0x01,
	// which some clients reject (mochi#474): send plain PUBACKs.
	caps.Compatibilities.NoInheritedPropertiesOnAck = true

	return &mqtt.Options{
		Capabilities:           caps,
		Logger:                 b.log.With("lib", "mochi"),
		InlineClient:           false, // the appliance delivers with Deliver, never through mochi
		SysTopicResendInterval: 3600,  // $SYS is closed to devices; don't churn
	}
}
