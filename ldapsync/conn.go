package ldapsync

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Errors of the AD connection, for errors.Is. Their messages say what to
// check; the wrapped detail says what the server or the network answered.
var (
	ErrUnreachable    = errors.New("the domain controller cannot be reached")
	ErrCertificate    = errors.New("the domain controller's certificate does not verify (set directory.ad.ca_file to the CA that signs it)")
	ErrBindFailed     = errors.New("the service account's bind was refused: check directory.ad.bind_dn and the password in bind_password_file")
	ErrBadCredentials = errors.New("wrong login or password")
	ErrAccountLocked  = errors.New("the account may not sign in (disabled, expired, locked or its password expired)")
	ErrTimeout        = errors.New("the domain controller did not answer in time (directory.ad.timeout)")
	ErrProtocol       = errors.New("the domain controller's answer could not be used")
)

// conn is one bound connection.
type conn struct {
	l      *ldap.Conn
	cfg    Config
	domain string // defaultNamingContext, from the root DSE
	listed bool   // readChanges listed every objectGUID in scope
}

// dial connects (LDAPS, or LDAP then StartTLS) and binds as dn with pw.
// The dial itself honours ctx and the configured timeout.
func dial(ctx context.Context, cfg Config, dn, pw string) (*conn, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < cfg.Timeout {
		d.Deadline = dl
	}
	l, err := ldap.DialURL(cfg.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		return nil, classify("connect to "+cfg.URL, err)
	}
	l.SetTimeout(cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if cfg.StartTLS {
		if err := l.StartTLS(tlsCfg); err != nil {
			l.Close()
			return nil, classify("StartTLS with "+cfg.URL, err)
		}
	}
	if pw == "" {
		l.Close()
		return nil, fmt.Errorf("bind as %s: %w: empty password", dn, ErrBadCredentials) // an empty simple bind is anonymous
	}
	if err := l.Bind(dn, pw); err != nil {
		l.Close()
		return nil, classify("bind as "+dn, err)
	}
	return &conn{l: l, cfg: cfg}, nil
}

// close ends the connection.
func (c *conn) close() { c.l.Close() }

// classify wraps an LDAP or network error with the sentinel that says
// what to do about it.
func classify(op string, err error) error {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &ce), strings.Contains(msg, "x509:"), strings.Contains(msg, "tls: failed to verify"):
		return fmt.Errorf("%s: %w: %v", op, ErrCertificate, err)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		// AD says why in the diagnostic: 52e wrong password, 525 no such
		// user; 530-533, 701, 773, 775 are account states.
		for _, code := range []string{"data 530", "data 531", "data 532", "data 533", "data 701", "data 773", "data 775"} {
			if strings.Contains(msg, code) {
				return fmt.Errorf("%s: %w", op, ErrAccountLocked)
			}
		}
		return fmt.Errorf("%s: %w", op, ErrBadCredentials)
	case errors.As(err, &ne) && ne.Timeout(), ldap.IsErrorWithCode(err, ldap.ErrorNetwork) && strings.Contains(msg, "timeout"),
		strings.Contains(msg, "timed out"), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %v", op, ErrTimeout, err)
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork), errors.As(err, &ne), strings.Contains(msg, "connection"):
		return fmt.Errorf("%s: %w: %v", op, ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w: %v", op, ErrProtocol, err)
}

// search runs a paged search and returns the entries; referrals are
// ignored (go-ldap does not chase them and they point outside the base).
func (c *conn) search(ctx context.Context, base, filter string, attrs []string, controls ...ldap.Control) ([]*ldap.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	defer stop()
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(c.cfg.Timeout/time.Second), false,
		filter, attrs, controls)
	res, err := c.l.SearchWithPaging(req, PageSize)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("search %s: %w", base, ctx.Err())
		}
		return nil, classify("search "+base, err)
	}
	return res.Entries, nil
}

// read reads one entry (base scope).
func (c *conn) read(ctx context.Context, dn string, attrs ...string) (*ldap.Entry, error) {
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	defer stop()
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(c.cfg.Timeout/time.Second), false,
		"(objectClass=*)", attrs, nil)
	res, err := c.l.Search(req)
	if err != nil {
		return nil, classify("read "+dn, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("read %s: %w: %d entries", dn, ErrProtocol, len(res.Entries))
	}
	return res.Entries[0], nil
}
