package broker

import "sync/atomic"

// Stats are counters of a running broker, for metrics and health checks.
type Stats struct {
	ClientsConnected int64 // authenticated clients connected now
	OpenConnections  int64 // network connections open now, authenticated or not
	Subscriptions    int64 // subscriptions held now
	MessagesReceived int64 // PUBLISH packets received since start
	MessagesSent     int64 // PUBLISH packets sent since start
	MessagesDropped  int64 // messages mochi dropped for slow subscribers
	InflightDropped  int64 // QoS 1 messages mochi dropped from an inflight queue
	AuthFailures     int64 // CONNECTs refused, throttled ones included
	AuthThrottled    int64 // CONNECTs refused by the failure throttle
	PublishRefused   int64 // device publishes refused by the ACL or for retain
	MalformedPackets int64 // connections closed by the guard for a malformed packet
	PanicsRecovered  int64 // connection goroutines that panicked (each is a bug)
}

// Stats returns the current counters; zero broker counters before Run.
func (b *Broker) Stats() Stats {
	s := Stats{
		OpenConnections:  b.open.Load(),
		AuthFailures:     b.authFailures.Load(),
		AuthThrottled:    b.throttled.Load(),
		PublishRefused:   b.publishRefused.Load(),
		MalformedPackets: b.malformed.Load(),
		PanicsRecovered:  b.panics.Load(),
	}
	select {
	case <-b.ready:
	default:
		return s
	}
	info := b.srv.Info
	s.ClientsConnected = atomic.LoadInt64(&info.ClientsConnected)
	s.Subscriptions = atomic.LoadInt64(&info.Subscriptions)
	s.MessagesReceived = atomic.LoadInt64(&info.MessagesReceived)
	s.MessagesSent = atomic.LoadInt64(&info.MessagesSent)
	s.MessagesDropped = atomic.LoadInt64(&info.MessagesDropped)
	s.InflightDropped = atomic.LoadInt64(&info.InflightDropped)
	return s
}
