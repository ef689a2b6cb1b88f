package ui

import (
	"context"
	"io"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// Backend is what the pages need of the appliance. Every method that reads
// or changes protected data audits it, as the viewer.
type Backend interface {
	Clinician
	Admin
}

// Clinician is what the web client needs.
type Clinician interface {
	Conversations(ctx context.Context, v Viewer) ([]ConversationItem, error)
	// Conversation returns a conversation's messages (oldest first) and
	// counts the viewer's unread ones as read.
	Conversation(ctx context.Context, v Viewer, id string) (ConversationPage, error)
	Send(ctx context.Context, v Viewer, c Compose) (conversation string, err error)
	Ack(ctx context.Context, v Viewer, message, state string) error
	Search(ctx context.Context, v Viewer, q string) ([]Person, error)
	// Subscribe streams the viewer's live events until ctx ends or the
	// session does; the channel is closed then.
	Subscribe(ctx context.Context, v Viewer) <-chan Event
	Alerting
}

// Admin is what the admin console needs. Auditors reach only the reads.
type Admin interface {
	Dashboard(ctx context.Context, v Viewer) (Dashboard, error)
	Users(ctx context.Context, v Viewer) ([]directory.User, error)
	SetUserEnabled(ctx context.Context, v Viewer, login string, enabled bool) error
	Devices(ctx context.Context, v Viewer) ([]DeviceItem, error)
	EnrollDevice(ctx context.Context, v Viewer, login, name string) (Enrolled, error)
	RevokeDevice(ctx context.Context, v Viewer, id string, wipe bool) error
	Roles(ctx context.Context, v Viewer) (RolesPage, error)
	Audit(ctx context.Context, v Viewer, f AuditFilter) ([]audit.Event, error)
	VerifyAudit(ctx context.Context, v Viewer) (VerifyResult, error)
	ExportAudit(ctx context.Context, v Viewer, f AuditFilter, w io.Writer) error
	Settings(ctx context.Context, v Viewer) (Settings, error)
	// SaveSettings changes the retention and the critical repeat (Go
	// durations; "" = back to the config file's value).
	SaveSettings(ctx context.Context, v Viewer, retention, criticalRepeat string) error
	Backup(ctx context.Context, v Viewer, w io.Writer) error
	OnCallAdmin
}

// Viewer is the signed-in person a request acts as.
type Viewer struct {
	Session directory.WebSession
	Source  string // the request's address
	Key     string // the session's server-side key (hash of the cookie); never sent to the browser
}

// Actor is the viewer as the audit trail names it: break-glass accounts
// as "breakglass:<login>", so that every row they cause is flagged.
func (v Viewer) Actor() audit.Actor {
	user := v.Session.Login
	if v.Session.BreakGlass() {
		user = "breakglass:" + user
	}
	return audit.Actor{User: user, Session: v.Session.ID, Source: v.Source}
}

// ConversationItem is one line of the conversation list.
type ConversationItem struct {
	ID       string
	Title    string
	Preview  string
	Priority string
	At       time.Time
	Unread   int64
}

// ConversationPage is one conversation.
type ConversationPage struct {
	ID       string
	Title    string
	Members  []Person
	Messages []MessageItem
}

// MessageItem is one message as the viewer sees it.
type MessageItem struct {
	ID       string        `json:"id"`
	Conv     string        `json:"conversation"`
	From     string        `json:"from"`
	FromName string        `json:"from_name"`
	Body     string        `json:"body"`
	Priority string        `json:"priority"`
	Patient  string        `json:"patient,omitempty"` // name and location, when given
	SentAt   time.Time     `json:"sent_at"`
	Mine     bool          `json:"mine"`
	Recalled bool          `json:"recalled,omitempty"`
	States   []StateItem   `json:"states,omitempty"` // for the sender: each recipient's state
	To       []AddressItem `json:"to,omitempty"`
}

// StateItem is one recipient's delivery state.
type StateItem struct {
	User  string    `json:"user"`
	State string    `json:"state"`
	At    time.Time `json:"at,omitzero"`
}

// AddressItem is how a message was addressed.
type AddressItem struct {
	Kind string `json:"kind"` // user, role, group
	Name string `json:"name"`
}

// Compose is a new message from the web client.
type Compose struct {
	Conversation string // reply in this conversation, or
	ToKind       string // "user", "role" or "group"
	To           string
	Body         string
	Priority     string
}

// Person is a directory search hit.
type Person struct {
	Kind       string `json:"kind"` // user, role, group
	Login      string `json:"login"`
	Name       string `json:"name,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// Event is one live update for a browser.
type Event struct {
	Type string // "message", "receipt", "alert"
	Data any
}

// Dashboard is the admin console's first page.
type Dashboard struct {
	Ready        bool
	Version      string
	Instance     string
	Started      time.Time
	Users        int
	Devices      int
	Connected    int
	Sent         uint64
	Refused      uint64
	SentPerMin   float64
	AuditEvents  uint64
	DiskFree     uint64
	DiskTotal    uint64
	Directory    string // sync status, "" when AD is not configured
	Certificates []CertItem
	SessionsNote string
}

// CertItem is one certificate on the dashboard.
type CertItem struct {
	Name     string
	NotAfter time.Time
	Issuer   string
}

// DeviceItem is one device in the list.
type DeviceItem struct {
	ID        string
	User      string
	Name      string
	Created   time.Time
	Revoked   time.Time
	Connected bool
}

// Enrolled is a new device's credentials, shown once.
type Enrolled struct {
	ID       string
	Secret   string
	QRSVG    string // the credentials as a QR code, an SVG document
	QRModule int
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Since, Until time.Time
	Actor        string
	Action       string // a prefix: "session." matches every session event
	Object       string
	Outcome      string
	Limit        int
}

// VerifyResult is the outcome of checking the audit chain.
type VerifyResult struct {
	OK       bool
	Events   uint64
	FirstBad uint64
	Error    string
}

// Settings are the settings page's values.
type Settings struct {
	Retention      time.Duration // in force
	CriticalRepeat time.Duration // in force
	FileRetention  time.Duration // the config file's
	FileRepeat     time.Duration // the config file's
	SetRetention   string        // as changed on the console ("" when not)
	SetRepeat      string
	SessionIdle    time.Duration
	SessionMax     time.Duration
	MaxBody        int
	ConfigFile     string
	SAML           bool
	EntityID       string
}
