package appliance

import (
	"errors"
	"fmt"
	"time"

	"github.com/wardline/wardline/ldapsync"
)

// adDefaults is [directory.ad] with the defaults of docs/config.md.
func adDefaults() *ADConfig {
	return &ADConfig{UserFilter: ldapsync.DefaultUserFilter, GroupFilter: ldapsync.DefaultGroupFilter,
		SyncInterval: Duration{60 * time.Second}, MaxDisableShare: 0.10, Timeout: Duration{ldapsync.DefaultTimeout}}
}

// validate checks the [directory.ad] section.
func (c *ADConfig) validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("directory.ad.%s: "+format, append([]any{key}, a...)...))
	}
	if err := (ldapsync.Config{URL: c.URL, StartTLS: c.StartTLS, BindDN: c.BindDN, BaseDN: c.BaseDN,
		UserFilter: c.UserFilter, GroupFilter: c.GroupFilter}).Check(); err != nil {
		errs = append(errs, err)
	}
	if c.BindPasswordFile == "" {
		bad("bind_password_file", "is empty: name the file that holds the service account's password")
	}
	if c.SyncInterval.Duration < 5*time.Second {
		bad("sync_interval", "must be at least 5s")
	}
	if c.MaxDisableShare < 0 || c.MaxDisableShare > 1 {
		bad("max_disable_share", "must be between 0 and 1 (0.10 is 10%%)")
	}
	if c.Timeout.Duration < time.Second {
		bad("timeout", "must be at least 1s")
	}
	return errors.Join(errs...)
}
