package ldapsync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Attributes read from AD.
var (
	userAttrs = []string{"objectGUID", "sAMAccountName", "userPrincipalName", "displayName", "givenName", "sn", "mail",
		"department", "title", "telephoneNumber", "mobile", "ipPhone", "manager", "userAccountControl", "accountExpires"}
	groupAttrs = []string{"objectGUID", "sAMAccountName", "member"}
)

// Reader reads AD into a mirror of its users and groups. Read is safe to
// call from one goroutine at a time (the appliance's sync loop); Directory
// may be called from any.
type Reader struct {
	cfg Config

	mu     sync.Mutex
	m      *mirror   // the last good read; nil before the first
	listed time.Time // when the objectGUIDs in scope were last listed in full
}

// ReconcileEvery is how often an incremental read also lists every
// objectGUID in scope (1.8 s for 10,000 users on Samba), which finds
// deletions even when the service account cannot read the tombstones.
const ReconcileEvery = 10 * time.Minute

// New returns a Reader for cfg. It does no I/O.
func New(cfg Config) (*Reader, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if _, err := cfg.tlsConfig(); err != nil {
		return nil, err
	}
	return &Reader{cfg: cfg}, nil
}

// ReadStats describes one read.
type ReadStats struct {
	Full    bool // a full read (else the changes since the last one)
	Changed bool // anything changed since the last read
	Users   int  // user entries read
	Groups  int  // group entries read
	USN     int64
}

// Read reads AD: everything when full is true or there is no previous
// read or the DC changed, else only what changed since the last read
// (uSNChanged) plus the list of objectGUIDs in scope, which reveals
// deletions and moves out of the base DN. All of it is read before
// anything is kept: a connection that fails midway leaves the last good
// read as it was, and returns the error.
func (r *Reader) Read(ctx context.Context, full bool, now time.Time) (*Directory, ReadStats, error) {
	c, err := dial(ctx, r.cfg, r.cfg.BindDN, r.cfg.BindPassword)
	if err != nil {
		if errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrAccountLocked) {
			return nil, ReadStats{}, fmt.Errorf("%w (%v)", ErrBindFailed, err)
		}
		return nil, ReadStats{}, err
	}
	defer c.close()
	usn, inv, err := c.position(ctx)
	if err != nil {
		return nil, ReadStats{}, err
	}
	r.mu.Lock()
	prev := r.m
	r.mu.Unlock()
	var next *mirror
	st := ReadStats{USN: usn, Changed: true}
	switch {
	case full || prev == nil || prev.invocation != inv || usn < prev.usn:
		st.Full = true
		next, err = c.readAll(ctx, &st)
	case usn == prev.usn:
		next, st.Changed = prev, false
	default:
		reconcile := now.Sub(r.listed) >= ReconcileEvery
		next, err = c.readChanges(ctx, prev, reconcile, &st)
		if err == nil && (reconcile || c.listed) {
			r.listed = now
		}
	}
	if st.Full && err == nil {
		r.listed = now
	}
	if err != nil {
		return nil, st, err
	}
	next.usn, next.invocation = usn, inv
	r.mu.Lock()
	r.m = next
	r.mu.Unlock()
	return next.build(now), st, nil
}

// Directory builds the last good read again (for a new time, as accounts
// expire), or returns nil before the first read.
func (r *Reader) Directory(now time.Time) *Directory {
	r.mu.Lock()
	m := r.m
	r.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.build(now)
}

// position reads the DC's highestCommittedUSN and invocationId from the
// root DSE, before any search.
func (c *conn) position(ctx context.Context) (int64, string, error) {
	root, err := c.read(ctx, "", "highestCommittedUSN", "dsServiceName", "defaultNamingContext")
	if err != nil {
		return 0, "", err
	}
	c.domain = root.GetAttributeValue("defaultNamingContext")
	usn, err := strconv.ParseInt(root.GetAttributeValue("highestCommittedUSN"), 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("root DSE: %w: highestCommittedUSN %q", ErrProtocol, root.GetAttributeValue("highestCommittedUSN"))
	}
	inv := ""
	if svc := root.GetAttributeValue("dsServiceName"); svc != "" {
		if e, err := c.read(ctx, svc, "invocationId"); err == nil {
			inv, _ = DecodeGUID(e.GetRawAttributeValue("invocationId"))
		}
	}
	return usn, inv, nil
}

// readAll reads every user and group in scope into a new mirror.
func (c *conn) readAll(ctx context.Context, st *ReadStats) (*mirror, error) {
	m := &mirror{users: map[string]*adUser{}, groups: map[string]*adGroup{}}
	if err := c.readUsers(ctx, c.cfg.UserFilter, m, st, nil); err != nil {
		return nil, err
	}
	if err := c.readGroups(ctx, c.cfg.GroupFilter, m, st, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// readChanges reads what changed since prev.usn onto a copy of prev: the
// changed users and groups in scope; the objects changed anywhere in the
// domain that are no longer in scope (moved out of base_dn, or no longer
// matching the filters); and the tombstones of deleted objects (Show
// Deleted). When the tombstones cannot be read, or reconcile is set, it
// lists every objectGUID in scope instead: what is not listed is gone.
func (c *conn) readChanges(ctx context.Context, prev *mirror, reconcile bool, st *ReadStats) (*mirror, error) {
	m := prev.clone()
	since := fmt.Sprintf("(uSNChanged>=%d)", prev.usn+1)
	inScope := map[string]bool{}
	if err := c.readUsers(ctx, "(&"+c.cfg.UserFilter+since+")", m, st, inScope); err != nil {
		return nil, err
	}
	if err := c.readGroups(ctx, "(&"+c.cfg.GroupFilter+since+")", m, st, inScope); err != nil {
		return nil, err
	}
	drop := func(guid string) {
		delete(m.users, guid)
		delete(m.groups, guid)
	}
	if c.domain != "" && !reconcile {
		changed, err := c.search(ctx, c.domain, "(&(|"+c.cfg.UserFilter+c.cfg.GroupFilter+")"+since+")", []string{"objectGUID"})
		if err != nil {
			return nil, err
		}
		for _, e := range changed {
			if g, err := DecodeGUID(e.GetRawAttributeValue("objectGUID")); err == nil && !inScope[g] {
				drop(g)
			}
		}
		tomb, err := c.search(ctx, c.domain, "(&(isDeleted=TRUE)"+since+")", []string{"objectGUID"}, ldap.NewControlMicrosoftShowDeleted())
		if err == nil {
			for _, e := range tomb {
				if g, err := DecodeGUID(e.GetRawAttributeValue("objectGUID")); err == nil {
					drop(g)
				}
			}
			return m, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	c.listed = true
	keep := map[string]bool{}
	for _, filter := range []string{c.cfg.UserFilter, c.cfg.GroupFilter} {
		entries, err := c.search(ctx, c.cfg.BaseDN, filter, []string{"objectGUID"})
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if g, err := DecodeGUID(e.GetRawAttributeValue("objectGUID")); err == nil {
				keep[g] = true
			}
		}
	}
	for g := range m.users {
		if !keep[g] {
			delete(m.users, g)
		}
	}
	for g := range m.groups {
		if !keep[g] {
			delete(m.groups, g)
		}
	}
	return m, nil
}

// readUsers searches users with filter into m.
func (c *conn) readUsers(ctx context.Context, filter string, m *mirror, st *ReadStats, seen map[string]bool) error {
	entries, err := c.search(ctx, c.cfg.BaseDN, filter, userAttrs)
	if err != nil {
		return err
	}
	for _, e := range entries {
		u, err := decodeUser(e)
		if err != nil {
			continue // not a usable user entry (no GUID): nothing to key it by
		}
		m.users[u.GUID] = u
		st.Users++
		if seen != nil {
			seen[u.GUID] = true
		}
	}
	return nil
}

// readGroups searches groups with filter into m, following ranged member
// values (Windows AD returns at most 1,500 per read).
func (c *conn) readGroups(ctx context.Context, filter string, m *mirror, st *ReadStats, seen map[string]bool) error {
	// Extended DNs name members by objectGUID too, which survives renames
	// and moves of the members (their group is not changed by them).
	entries, err := c.search(ctx, c.cfg.BaseDN, filter, groupAttrs, ldap.NewControlString(ldap.ControlTypeMicrosoftExtendedDN, false, ""))
	if err != nil {
		return err
	}
	for _, e := range entries {
		g, next, err := decodeGroup(e)
		if err != nil {
			continue
		}
		for next >= 0 {
			more, err := c.read(ctx, plainDN(e.DN), fmt.Sprintf("member;range=%d-*", next))
			if err != nil {
				return err
			}
			var vals []string
			vals, next = rangedMembers(more)
			g.Members = append(g.Members, vals...)
		}
		m.groups[g.GUID] = g
		st.Groups++
		if seen != nil {
			seen[g.GUID] = true
		}
	}
	return nil
}

// decodeUser turns a search entry into a user.
func decodeUser(e *ldap.Entry) (*adUser, error) {
	guid, err := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
	if err != nil {
		return nil, err
	}
	u := &adUser{GUID: guid, DN: e.DN, SAM: e.GetAttributeValue("sAMAccountName"), UPN: e.GetAttributeValue("userPrincipalName"),
		Display: e.GetAttributeValue("displayName"), Given: e.GetAttributeValue("givenName"), SN: e.GetAttributeValue("sn"),
		Mail: e.GetAttributeValue("mail"), Department: e.GetAttributeValue("department"), Title: e.GetAttributeValue("title"),
		ManagerDN: e.GetAttributeValue("manager")}
	for _, a := range []string{"telephoneNumber", "mobile", "ipPhone"} {
		for _, v := range e.GetAttributeValues(a) {
			if p := cleanText(v, 64); p != "" {
				u.Phones = append(u.Phones, p)
			}
		}
	}
	if u.UAC, err = ParseUAC(e.GetAttributeValue("userAccountControl")); err != nil {
		u.UAC = uacAccountDisable // unreadable account state: not enabled
	}
	if u.Expires, err = ParseAccountExpires(e.GetAttributeValue("accountExpires")); err != nil {
		u.Expires = fileTimeEpoch // unreadable expiry: treat as expired
	}
	return u, nil
}

// decodeGroup turns a search entry into a group, and says from which
// member index on values are still to be read (-1 when none).
func decodeGroup(e *ldap.Entry) (*adGroup, int, error) {
	guid, err := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
	if err != nil {
		return nil, -1, err
	}
	g := &adGroup{GUID: guid, DN: plainDN(e.DN), SAM: e.GetAttributeValue("sAMAccountName")}
	if g.SAM == "" {
		return nil, -1, fmt.Errorf("group %s: no sAMAccountName", g.DN)
	}
	for _, v := range e.GetAttributeValues("member") {
		g.Members = append(g.Members, memberRef(v))
	}
	vals, next := rangedMembers(e)
	g.Members = append(g.Members, vals...)
	return g, next, nil
}

// rangedMembers returns the values of a "member;range=LO-HI" attribute and
// the next index to ask for, or -1 when HI is "*" (the last range) or
// there is no ranged attribute.
func rangedMembers(e *ldap.Entry) ([]string, int) {
	for _, a := range e.Attributes {
		rest, ok := strings.CutPrefix(strings.ToLower(a.Name), "member;range=")
		if !ok {
			continue
		}
		vals := make([]string, 0, len(a.Values))
		for _, v := range a.Values {
			vals = append(vals, memberRef(v))
		}
		_, hi, _ := strings.Cut(rest, "-")
		if hi == "*" {
			return vals, -1
		}
		n, err := strconv.Atoi(hi)
		if err != nil || len(a.Values) == 0 {
			return vals, -1
		}
		return vals, n + 1
	}
	return nil, -1
}

// memberRef is how a group names a member: "guid:<objectGUID>" from an
// extended DN ("<GUID=…>;<SID=…>;CN=…"), else "dn:<lower-case DN>".
func memberRef(v string) string {
	if rest, ok := strings.CutPrefix(v, "<GUID="); ok {
		if h, _, ok := strings.Cut(rest, ">"); ok {
			if len(h) == 36 {
				return "guid:" + strings.ToLower(h)
			}
			if raw, err := hex.DecodeString(h); err == nil {
				if g, err := DecodeGUID(raw); err == nil {
					return "guid:" + g
				}
			}
		}
	}
	return "dn:" + strings.ToLower(plainDN(v))
}

// plainDN strips the "<GUID=…>;<SID=…>;" of an extended DN.
func plainDN(dn string) string {
	for strings.HasPrefix(dn, "<") {
		i := strings.Index(dn, ">;")
		if i < 0 {
			return dn
		}
		dn = dn[i+2:]
	}
	return dn
}
