package ldapsync

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Defaults of the AD connection (docs/config.md, [directory.ad]).
const (
	DefaultUserFilter  = "(&(objectCategory=person)(objectClass=user))"
	DefaultGroupFilter = "(objectClass=group)"
	DefaultTimeout     = 30 * time.Second
	// PageSize is the paged-search page size; AD's MaxPageSize is 1000.
	PageSize = 500
)

// Config is how to reach and read the directory.
type Config struct {
	URL                string // ldaps://host:636, or ldap://host:389 with StartTLS
	StartTLS           bool
	CAFile             string // PEM; empty: the system roots
	InsecureSkipVerify bool   // lab only
	BindDN             string
	BindPassword       string // read from bind_password_file; never logged
	BaseDN             string
	UserFilter         string
	GroupFilter        string
	Timeout            time.Duration // per LDAP operation
}

// withDefaults fills the empty fields.
func (c Config) withDefaults() Config {
	if c.UserFilter == "" {
		c.UserFilter = DefaultUserFilter
	}
	if c.GroupFilter == "" {
		c.GroupFilter = DefaultGroupFilter
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Check reports what is wrong with the settings, naming the config keys.
func (c Config) Check() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("directory.ad.url: is empty"))
	case err != nil || u.Host == "":
		errs = append(errs, fmt.Errorf("directory.ad.url: %q is not an ldaps:// or ldap:// URL", c.URL))
	case u.Scheme == "ldaps" && c.StartTLS:
		errs = append(errs, errors.New("directory.ad.start_tls: is for ldap:// URLs; ldaps:// is TLS already"))
	case u.Scheme == "ldap" && !c.StartTLS:
		errs = append(errs, errors.New("directory.ad.url: ldap:// sends the password in clear: use ldaps:// or set start_tls = true"))
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		errs = append(errs, fmt.Errorf("directory.ad.url: scheme %q is neither ldaps nor ldap", u.Scheme))
	}
	if c.BindDN == "" {
		errs = append(errs, errors.New("directory.ad.bind_dn: is empty"))
	}
	if c.BaseDN == "" {
		errs = append(errs, errors.New("directory.ad.base_dn: is empty"))
	}
	for key, f := range map[string]string{"user_filter": c.UserFilter, "group_filter": c.GroupFilter} {
		if f != "" && !balancedFilter(f) {
			errs = append(errs, fmt.Errorf("directory.ad.%s: %q is not an LDAP filter in parentheses", key, f))
		}
	}
	return errors.Join(errs...)
}

// balancedFilter is a cheap check that a configured filter is one
// parenthesised expression; the server checks the rest.
func balancedFilter(f string) bool {
	if len(f) < 2 || f[0] != '(' || f[len(f)-1] != ')' {
		return false
	}
	depth := 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// tlsConfig is the TLS client configuration for the DC named in the URL.
func (c Config) tlsConfig() (*tls.Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname(), InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("directory.ad.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory.ad.ca_file: no PEM certificate in %s", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
