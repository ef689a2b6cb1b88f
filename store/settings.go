package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wardline/wardline/audit"
)

// keySettings holds the settings changed on the admin console, which
// override the config file's values.
const keySettings = "meta/settings"

// Settings are the values an administrator may change while the appliance
// runs. A zero value means "as in the config file".
type Settings struct {
	Retention      time.Duration `json:"retention,omitempty"`
	CriticalRepeat time.Duration `json:"critical_repeat,omitempty"`
}

// Limits of the settings (the same as the config file's).
const (
	MinRetention      = time.Hour
	MinCriticalRepeat = time.Second
)

// SetSettings changes the runtime settings.
type SetSettings struct {
	By       audit.Actor
	Settings Settings
}

// Event implements Command.
func (c SetSettings) Event() audit.Event {
	e := c.By.Event("settings.change", "setting:retention", "setting:critical_repeat")
	e.Reason = fmt.Sprintf("retention=%s critical_repeat=%s", c.Settings.Retention, c.Settings.CriticalRepeat)
	return e
}

// Apply implements Command.
func (c SetSettings) Apply(tx *Txn) error {
	s := c.Settings
	if s.Retention != 0 && s.Retention < MinRetention || s.CriticalRepeat != 0 && s.CriticalRepeat < MinCriticalRepeat {
		return fmt.Errorf("retention must be at least %s and the critical repeat at least %s: %w", MinRetention, MinCriticalRepeat, ErrInvalidSetting)
	}
	return putJSON(tx, []byte(keySettings), s)
}

// ErrInvalidSetting is a setting out of its limits.
var ErrInvalidSetting = errors.New("invalid setting")

// Settings returns the runtime settings (zero values: none changed).
func (s *Store) Settings() (Settings, error) {
	var out Settings
	err := s.View(func(r *Reader) error {
		b, err := r.Get([]byte(keySettings))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &out)
	})
	return out, err
}
