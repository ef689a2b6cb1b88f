package broker

import (
	mqtt "github.com/mochi-mqtt/server/v2"
)

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
	caps.MinimumProtocolVersion = 4 // MQTT 3.1.1 and 5
	caps.MaximumQos = 1             // the device API uses QoS 1 only
	caps.RetainAvailable = 0        // devices may not retain; nothing is retained
	caps.SharedSubAvailable = 0     // $share/... is refused by the ACL anyway
	caps.TopicAliasMaximum = 0      // no inbound topic aliases: the ACL sees every topic
	caps.ReceiveMaximum = 64        // unacknowledged QoS 1 publishes per device
	caps.MaximumInflight = 1024     // outbound QoS 1 messages kept per session
	caps.MaximumClientWritesPending = 1024
	// A QoS 1 PUBACK with properties would echo them with reason 0x01,
	// which some clients reject (mochi#474): send plain PUBACKs.
	caps.Compatibilities.NoInheritedPropertiesOnAck = true

	return &mqtt.Options{
		Capabilities:           caps,
		Logger:                 b.log.With("lib", "mochi"),
		InlineClient:           true,
		SysTopicResendInterval: 3600, // $SYS is closed to devices; don't churn
	}
}
