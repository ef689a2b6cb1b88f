package broker

// Handler receives what devices publish on their out/ topics and their
// comings and goings; the appliance implements it. Its methods are called
// from the connection's own goroutine and must not block for long: hand
// work to another goroutine. They may call the Broker's methods.
type Handler interface {
	// Publish hands over one device PUBLISH to wl/v1/{deviceID}/out/{kind}.
	// done must be called exactly once, from any goroutine, when the
	// effect is durable or refused; it never blocks. For QoS 1 the broker
	// sends the PUBACK only then, and PUBACKs go out in the order the
	// device's publishes arrived, even when done calls come in another
	// order. For QoS 0, done does nothing.
	Publish(p Inbound, done func(Ack))
	// Online: the device is connected and subscribed to a filter that
	// covers its in/msg topic (on SUBSCRIBE, and when a resumed session
	// already holds such a subscription). It may come more than once.
	Online(deviceID string)
	// Offline: the device's connection is gone. A connection taken over
	// by a newer one of the same device produces no Offline once the new
	// one is current. Online and Offline of one device never overlap.
	Offline(deviceID string)
	// AuthFailed: a CONNECT was refused (bad credentials, throttled, not
	// authorized, bad client id, will not allowed, authenticator failed),
	// for the audit trail. reason is short and never holds the secret.
	AuthFailed(deviceID, remote, reason string)
}

// Inbound is one device PUBLISH to one of its out/ topics.
type Inbound struct {
	DeviceID string
	Kind     string // "send", "ack", "respond" or "req"
	Payload  []byte // the broker keeps no reference to it
	QoS      byte   // 0 or 1
	// ResponseTopic is the MQTT 5 Response Topic, "" if none or if it is
	// not a topic name the device may subscribe to.
	ResponseTopic   string
	CorrelationData []byte // MQTT 5 Correlation Data, nil if none
	Remote          string // the device's remote address
}

// Ack is the appliance's answer to a publish.
type Ack struct {
	// Reason is the MQTT 5 PUBACK reason code: 0 accepted; 0x80
	// unspecified error, 0x83 implementation specific, 0x87 not
	// authorized, 0x97 quota exceeded, 0x99 payload format invalid.
	// Values from 0x01 to 0x7f are sent as 0. An MQTT 3.1.1 client has no
	// reason codes: a refusal reaches it as a plain PUBACK (the publish
	// is dropped, as for a refused topic).
	Reason byte
	// Retry means the publish was not stored (a store failure) and the
	// device should send it again: an MQTT 3.1.1 client gets no PUBACK and
	// is disconnected, so that it resends after reconnecting; an MQTT 5
	// client gets Reason (0x80 if Reason is 0).
	Retry bool
}

// PUBACK reason codes an Ack may carry.
const (
	ReasonSuccess              byte = 0x00 // accepted: the effect is durable
	ReasonUnspecified          byte = 0x80 // unspecified error
	ReasonImplementation       byte = 0x83 // implementation specific error
	ReasonNotAuthorized        byte = 0x87 // not authorized
	ReasonQuotaExceeded        byte = 0x97 // quota exceeded (e.g. rate limited)
	ReasonPayloadFormatInvalid byte = 0x99 // payload format invalid
)
