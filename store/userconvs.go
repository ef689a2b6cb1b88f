package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wardline/wardline/messaging"
)

// prefixUserConv indexes each member's conversations for the web client:
// + login/conversation id: JSON userConv.
const prefixUserConv = "ucnv/"

// userConv is one conversation in a member's list.
type userConv struct {
	Last   string    `json:"last"` // the newest message id
	At     time.Time `json:"at"`
	Unread int64     `json:"unread"`
}

// sameUserConv is the clone of a userConv, which holds no slice.
func sameUserConv(uc userConv) userConv { return uc }

func userConvKey(login, conv string) []byte { return []byte(prefixUserConv + login + "/" + conv) }

// indexMessage records a new message in its members' conversation lists:
// the newest message, and one more unread for each recipient.
func indexMessage(tx *Txn, conv messaging.Conversation, m messaging.Message) error {
	for _, login := range conv.Members {
		uc := readUserConv(tx, login, conv.ID)
		uc.Last, uc.At = m.ID, m.SentAt
		for _, r := range m.Recipients {
			if r == login {
				uc.Unread++
			}
		}
		if err := putRemembered(tx, userConvKey(login, conv.ID), uc, sameUserConv); err != nil {
			return err
		}
	}
	return nil
}

// joinConversation makes login, a recipient added to message m by an
// escalation step, a member of m's conversation, so that the thread is in
// their web conversation list (m unread) and they can read and answer it.
func joinConversation(tx *Txn, m messaging.Message, login string) error {
	if m.Conversation == "" {
		return nil
	}
	conv, err := getConversation(tx, m.Conversation)
	if err != nil {
		return err
	}
	if !slices.Contains(conv.Members, login) {
		conv.Members = append(conv.Members, login)
		slices.Sort(conv.Members)
		conv.Joined = append(conv.Joined, login)
		slices.Sort(conv.Joined)
		if err := putRemembered(tx, []byte(prefixConv+conv.ID), conv, cloneConversation); err != nil {
			return err
		}
	}
	uc := readUserConv(tx, login, conv.ID)
	if uc.Last < m.ID {
		uc.Last, uc.At = m.ID, m.SentAt
	}
	uc.Unread++
	return putRemembered(tx, userConvKey(login, conv.ID), uc, sameUserConv)
}

// unindexUnread counts one message fewer unread for a member.
func unindexUnread(tx *Txn, login, conv string) error {
	if conv == "" {
		return nil
	}
	uc := readUserConv(tx, login, conv)
	if uc.Last == "" || uc.Unread == 0 {
		return nil
	}
	uc.Unread--
	return putRemembered(tx, userConvKey(login, conv), uc, sameUserConv)
}

func readUserConv(tx *Txn, login, conv string) userConv {
	uc, err := getDecoded(tx, userConvKey(login, conv), sameUserConv)
	if err != nil {
		return userConv{}
	}
	return uc
}

// ConversationSummary is one line of a user's conversation list.
type ConversationSummary struct {
	Conversation messaging.Conversation
	Last         messaging.Message // the newest message (body cut by retention or recall)
	Unread       int64
}

// UserConversations returns a user's conversations, the most recent
// first, at most limit. It holds message bodies: the caller audits the read.
func (s *Store) UserConversations(ctx context.Context, login string, limit int) ([]ConversationSummary, error) {
	var out []ConversationSummary
	err := s.View(func(r *Reader) error {
		prefix := []byte(prefixUserConv + login + "/")
		type entry struct {
			id string
			uc userConv
		}
		var list []entry
		if err := r.Scan(prefix, func(k, v []byte) error {
			var uc userConv
			if err := json.Unmarshal(v, &uc); err != nil {
				return err
			}
			list = append(list, entry{strings.TrimPrefix(string(k), string(prefix)), uc})
			return ctx.Err()
		}); err != nil {
			return err
		}
		sort.Slice(list, func(i, j int) bool { return list[i].uc.Last > list[j].uc.Last })
		for _, e := range list[:min(len(list), limit)] {
			c, err := getConversation(r, e.id)
			if err != nil {
				return err
			}
			m, err := getMessage(r, e.uc.Last)
			if err != nil {
				return err
			}
			out = append(out, ConversationSummary{Conversation: c, Last: m, Unread: e.uc.Unread})
		}
		return nil
	})
	return out, err
}

// Conversation returns a conversation.
func (s *Store) Conversation(id string) (messaging.Conversation, error) {
	var c messaging.Conversation
	err := s.View(func(r *Reader) error {
		var err error
		c, err = getConversation(r, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return c, messaging.Errorf(messaging.CodeNotFound, "no conversation %s", id)
	}
	return c, err
}

// RecipientState is one recipient's delivery state of a message.
type RecipientState struct {
	User  string          `json:"user"`
	State messaging.State `json:"state"`
	At    time.Time       `json:"at"`
}

// MessageStates returns each recipient's state of a message, by login.
func (s *Store) MessageStates(id string) ([]RecipientState, error) {
	var out []RecipientState
	err := s.View(func(r *Reader) error {
		prefix := []byte(prefixRecipient + id + "/")
		return r.Scan(prefix, func(k, v []byte) error {
			var st recipientState
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			at := st.ReadAt
			if at.IsZero() {
				at = st.DeliveredAt
			}
			out = append(out, RecipientState{User: string(k[len(prefix):]), State: st.State, At: at})
			return nil
		})
	})
	return out, err
}
