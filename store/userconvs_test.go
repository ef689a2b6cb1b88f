package store

import (
	"context"
	"slices"
	"testing"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
)

// joinCmd applies joinConversation as an escalation step does.
type joinCmd struct {
	m     messaging.Message
	login string
}

func (c joinCmd) Event() audit.Event  { return admin.Event("test.join", "user:"+c.login) }
func (c joinCmd) Apply(tx *Txn) error { return joinConversation(tx, c.m, c.login) }

// TestEscalationJoinersStayMembers: a person an escalation step added to a
// conversation stays a member when the addressed membership is worked out
// again: a new direct message between the two, a group's members changing.
func TestEscalationJoinersStayMembers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		to    messaging.Address
		after func(f *msgFixture) error
	}{
		{name: "direct", to: messaging.Address{User: "bob"}},
		{name: "group changed", to: messaging.Address{Group: "icu"}, after: func(f *msgFixture) error {
			return f.s.Apply(context.Background(), ChangeMembers{By: admin, Name: "icu", Remove: []string{"carol"}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newMsgFixture(t)
			addUser(t, f.s, "dave", "User dave")
			ctx := context.Background()
			first, err := f.send(t, []messaging.Address{tc.to}, "", "", messaging.Critical)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.s.Apply(ctx, joinCmd{m: first.Result, login: "dave"}); err != nil {
				t.Fatal(err)
			}
			if tc.after != nil {
				if err := tc.after(f); err != nil {
					t.Fatal(err)
				}
			}
			second, err := f.send(t, []messaging.Address{tc.to}, "", "", messaging.Normal)
			if err != nil {
				t.Fatal(err)
			}
			if second.Result.Conversation != first.Result.Conversation {
				t.Fatalf("a new conversation: %s, was %s", second.Result.Conversation, first.Result.Conversation)
			}
			var conv messaging.Conversation
			if err := f.s.View(func(r *Reader) error {
				conv, err = getConversation(r, first.Result.Conversation)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(conv.Members, "dave") || !slices.Contains(conv.Joined, "dave") {
				t.Fatalf("dave is no longer a member: %+v", conv)
			}
			if tc.after != nil && slices.Contains(conv.Members, "carol") {
				t.Fatalf("carol left the group but is still a member: %+v", conv)
			}
		})
	}
}
