package certs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults applied by New.
const (
	// DefaultLifetime is the lifetime of certificates from the local CA.
	DefaultLifetime = 30 * 24 * time.Hour
)

// ACME describes the hospital's ACME certificate authority. With an empty
// Directory the appliance uses its local CA only.
type ACME struct {
	// Directory is the https URL of the ACME directory, e.g.
	// "https://pki.hosp.example/acme/directory".
	Directory string
	// Email is the contact address of the ACME account (optional).
	Email string
	// CAFile is a PEM file of root certificates to trust when talking to
	// the ACME server; empty means the system roots.
	CAFile string
	// HTTPChallengePort is the port certmagic listens on to answer HTTP-01
	// challenges; zero means 80. Set it when port 80 is forwarded elsewhere.
	HTTPChallengePort int
	// TLSALPNChallengePort is the port of TLS-ALPN-01 challenges; zero means
	// 443. When the appliance's HTTPS server already holds that port, its
	// TLSConfig answers the challenge.
	TLSALPNChallengePort int
}

// Options configures a Manager.
type Options struct {
	// CADir is the directory of the local CA: ca.crt (0644) and ca.key
	// (0600). It is created with mode 0700 when missing.
	CADir string
	// Names are the DNS names and IP addresses the server must present
	// certificates for. Each name gets a certificate of its own.
	Names []string
	// DefaultName is served to clients that send no SNI and connect to an
	// address that is not in Names. It must be one of Names; empty means the
	// first DNS name in Names (or Names[0] when all are IP addresses).
	DefaultName string
	// Storage keeps certificates, their private keys and ACME account data.
	Storage Storage
	// Logger receives the manager's and certmagic's logs; nil means
	// slog.Default().
	Logger *slog.Logger
	// ACME is the hospital's ACME CA, tried before the local CA.
	ACME ACME
	// Lifetime is the lifetime of certificates from the local CA; zero means
	// DefaultLifetime. Certificates are renewed when a third of their
	// lifetime (counted from NotBefore, one minute before issuance) is left.
	Lifetime time.Duration
	// RenewCheckInterval is how often certificates are checked for renewal;
	// zero means certmagic's default (10 minutes).
	RenewCheckInterval time.Duration
	// Now is the clock of the local CA; nil means time.Now. Renewal
	// decisions are certmagic's and use the system clock.
	Now func() time.Time
}

// validate checks opts and returns a copy with defaults applied and names
// normalized.
func (opts Options) validate() (Options, error) {
	if opts.CADir == "" {
		return opts, errors.New("ca dir is required")
	}
	if opts.Storage == nil {
		return opts, errors.New("storage is required")
	}
	if len(opts.Names) == 0 {
		return opts, errors.New("at least one name is required")
	}
	names := make([]string, 0, len(opts.Names))
	seen := make(map[string]bool)
	firstDNS := ""
	for _, n := range opts.Names {
		norm, err := checkName(n)
		if err != nil {
			return opts, err
		}
		if seen[norm] {
			return opts, fmt.Errorf("name %q listed twice", n)
		}
		seen[norm] = true
		names = append(names, norm)
		if firstDNS == "" && net.ParseIP(norm) == nil {
			firstDNS = norm
		}
	}
	opts.Names = names
	switch {
	case opts.DefaultName != "":
		norm, err := checkName(opts.DefaultName)
		if err != nil {
			return opts, fmt.Errorf("default name: %w", err)
		}
		if !seen[norm] {
			return opts, fmt.Errorf("default name %q is not one of names", opts.DefaultName)
		}
		opts.DefaultName = norm
	case firstDNS != "":
		opts.DefaultName = firstDNS
	default:
		opts.DefaultName = names[0]
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Lifetime < 0 {
		return opts, fmt.Errorf("lifetime %v is negative", opts.Lifetime)
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = DefaultLifetime
	}
	if opts.RenewCheckInterval < 0 {
		return opts, fmt.Errorf("renew check interval %v is negative", opts.RenewCheckInterval)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ACME.Directory != "" {
		u, err := url.Parse(opts.ACME.Directory)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return opts, fmt.Errorf("acme directory %q is not an https url", opts.ACME.Directory)
		}
		for _, p := range []int{opts.ACME.HTTPChallengePort, opts.ACME.TLSALPNChallengePort} {
			if p < 0 || p > 65535 {
				return opts, fmt.Errorf("acme challenge port %d out of range", p)
			}
		}
	} else if opts.ACME != (ACME{}) {
		return opts, errors.New("acme settings given without an acme directory")
	}
	return opts, nil
}

// checkName normalizes a DNS name or IP address and rejects what cannot be
// a certificate name.
func checkName(n string) (string, error) {
	if ip := net.ParseIP(n); ip != nil {
		return ip.String(), nil
	}
	norm := normalizeName(n)
	if norm == "" {
		return "", errors.New("empty name")
	}
	labels := strings.Split(norm, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("invalid name %q", n)
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return "", fmt.Errorf("invalid name %q", n)
			}
		}
	}
	return norm, nil
}

func normalizeName(n string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
}
