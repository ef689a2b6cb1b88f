package appliance

import (
	"context"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/store"
)

// Settings changed on the admin console (retention, the critical repeat)
// live in the store and override the config file's values until they are
// reset; each change is audited (settings.change).

// retention is the message retention in force.
func (a *Appliance) retention() time.Duration {
	if v := a.retentionSet.Load(); v > 0 {
		return time.Duration(v)
	}
	return a.cfg.Messaging.Retention.Duration
}

// criticalRepeat is the critical repeat interval in force.
func (a *Appliance) criticalRepeat() time.Duration {
	if a.api != nil && a.api.out != nil {
		return a.api.out.repeatEvery()
	}
	return a.cfg.Messaging.CriticalRepeat.Duration
}

// loadSettings applies the stored runtime settings (at start).
func (a *Appliance) loadSettings() error {
	s, err := a.store.Settings()
	if err != nil {
		return err
	}
	a.applySettings(s)
	return nil
}

// applySettings puts settings in force.
func (a *Appliance) applySettings(s store.Settings) {
	a.retentionSet.Store(int64(s.Retention))
	a.api.out.repeatSet.Store(int64(s.CriticalRepeat))
}

// changeSettings stores and applies new settings; a zero value goes back
// to the config file's.
func (a *Appliance) changeSettings(ctx context.Context, by audit.Actor, s store.Settings) error {
	if err := a.store.Apply(ctx, store.SetSettings{By: by, Settings: s}); err != nil {
		return err
	}
	a.applySettings(s)
	return nil
}
