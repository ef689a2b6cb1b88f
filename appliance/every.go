package appliance

import (
	"context"
	"time"
)

// every calls fn every period until ctx is done, then returns nil: the
// shape of the appliance's periodic background work.
func every(ctx context.Context, period time.Duration, fn func()) error {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			fn()
		}
	}
}
