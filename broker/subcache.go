package broker

import (
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// subCache remembers, per connection, which of the device's in/ topics its
// subscriptions match: mochi's Subscriptions.GetAll copies the client's
// whole subscription map on every call, and every delivery asked it (4 % of
// the appliance's allocations at full load). The hooks OnSubscribed and
// OnUnsubscribed bump gen after mochi changed the subscriptions, which
// empties the cache; a delivery racing with that change sees the
// subscriptions of just before it, as it would have without the cache.
type subCache struct {
	gen atomic.Uint64 // bumped on every change of the connection's subscriptions

	mu      sync.Mutex
	seenGen uint64 // gen the entries were computed at
	entries map[string]subMatch
}

// subMatch is what devConn.subscription returns for one topic.
type subMatch struct {
	qos byte
	ids []int
	ok  bool
}

// maxSubCache bounds the entries: a device has a handful of in/ topics.
const maxSubCache = 16

// lookup returns the cached match of topic at generation gen.
func (s *subCache) lookup(gen uint64, topic string) (subMatch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seenGen != gen {
		return subMatch{}, false
	}
	m, ok := s.entries[topic]
	return m, ok
}

// store keeps the match of topic computed at generation gen, unless the
// subscriptions changed since.
func (s *subCache) store(gen uint64, topic string, m subMatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen.Load() {
		return // changed while m was computed
	}
	if s.seenGen != gen || s.entries == nil || len(s.entries) >= maxSubCache {
		s.seenGen, s.entries = gen, make(map[string]subMatch, 4)
	}
	s.entries[topic] = m
}

// subscriptionsChanged empties the subscription cache of cl's connection.
func (b *Broker) subscriptionsChanged(cl *mqtt.Client) {
	if c := b.conns.of(cl); c != nil {
		c.subs.gen.Add(1)
	}
}

// OnUnsubscribed implements mqtt.Hook: the connection's subscriptions changed.
func (h *deviceHook) OnUnsubscribed(cl *mqtt.Client, _ packets.Packet) {
	h.b.subscriptionsChanged(cl)
}
