package messaging

import "time"

// Priority is how urgent a message is.
type Priority string

// Priorities of the device API.
const (
	Normal   Priority = "normal"
	Urgent   Priority = "urgent"
	Critical Priority = "critical"
)

// State is the delivery state of a message for one recipient or device.
// States only move forward: queued, delivered, read.
type State string

// Delivery states.
const (
	Queued    State = "queued"
	Delivered State = "delivered"
	Read      State = "read"
)

// Address is one recipient as the sender named it: exactly one of User,
// Role or Group. For a role, RoutedTo names the person it reached.
type Address struct {
	User     string `json:"user,omitempty"`
	Role     string `json:"role,omitempty"`
	Group    string `json:"group,omitempty"`
	RoutedTo string `json:"routed_to,omitempty"` // for a role: the login it reached
}

// Patient is the optional patient context of a message. It is PHI: it is
// stored encrypted, sent only in in/msg, and never logged or put in a
// notification.
type Patient struct {
	MRN      string `json:"mrn,omitempty"`
	Name     string `json:"name,omitempty"`
	Location string `json:"location,omitempty"`
}

// Message is a message as stored.
type Message struct {
	ID           string    `json:"id"`
	Conversation string    `json:"conversation"`
	From         string    `json:"from"`      // sender's login
	FromName     string    `json:"from_name"` // sender's display name when sent
	SenderDevice string    `json:"sender_device,omitempty"`
	ClientRef    string    `json:"client_ref,omitempty"`
	To           []Address `json:"to"`         // as addressed
	Recipients   []string  `json:"recipients"` // resolved logins, sorted, without the sender
	Body         string    `json:"body,omitempty"`
	Priority     Priority  `json:"priority"`
	Patient      *Patient  `json:"patient,omitempty"`
	SentAt       time.Time `json:"sent_at"`
	RecalledAt   time.Time `json:"recalled_at,omitzero"`
	PurgedAt     time.Time `json:"purged_at,omitzero"` // body and patient deleted by retention
}

// ConversationKind tells a one-to-one conversation from a group one.
type ConversationKind string

// Kinds of conversations.
const (
	Direct ConversationKind = "direct"
	Group  ConversationKind = "group"
)

// Conversation is a thread of messages among members.
type Conversation struct {
	ID      string           `json:"id"`
	Kind    ConversationKind `json:"kind"`
	Members []string         `json:"members"` // logins, sorted
	// Joined are the logins an escalation step added (sorted): they stay
	// members when the addressed membership changes (a group's members).
	Joined  []string  `json:"joined,omitempty"`
	Created time.Time `json:"created"`
}
