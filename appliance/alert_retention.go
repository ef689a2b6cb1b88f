package appliance

import (
	"context"
	"time"

	"github.com/wardline/wardline/store"
)

// purgeAlerts deletes the text and patient data of alerts raised longer
// than messaging.retention ago, as runRetention does for message bodies,
// a few hundred alerts per command.
func (a *Appliance) purgeAlerts(ctx context.Context) {
	for {
		cmd := &store.PurgeAlerts{Before: time.Now().Add(-a.cfg.Messaging.Retention.Duration), Max: 256}
		if err := a.store.Apply(ctx, cmd); err != nil {
			a.log.Warn("alert retention purge failed; will try again", "err", err)
			return
		}
		if len(cmd.Purged) > 0 {
			a.log.Info("retention purged alert texts and patient data", "count", len(cmd.Purged))
		}
		if len(cmd.Purged) < cmd.Max {
			return
		}
	}
}
