package broker

import (
	"sync"

	"github.com/mochi-mqtt/server/v2/packets"
)

// disconnectAll ends every device connection when the broker stops: MQTT 5
// devices get DISCONNECT 0x8B (server shutting down) first. The writes run
// in parallel, each bounded by the write timeout, so that devices that do
// not read cannot hold up the shutdown one after another. It stands in
// for mochi's own closeListenerClients, which can deadlock (listener.go).
func (b *Broker) disconnectAll() {
	b.conns.mu.RLock()
	all := make([]*devConn, 0, len(b.conns.byClient))
	for _, c := range b.conns.byClient {
		all = append(all, c)
	}
	b.conns.mu.RUnlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.v5 {
				_ = b.srv.DisconnectClient(c.cl, packets.ErrServerShuttingDown)
			}
			c.fail(packets.ErrServerShuttingDown)
		}()
	}
	wg.Wait()
}
