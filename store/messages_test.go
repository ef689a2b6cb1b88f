package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/messaging"
)

// msgFixture is a store with users alice, bob and carol, a group "icu" of
// bob and carol, a role "cardio" covered by bob, and devices: alice a1,
// bob b1 and b2, carol c1.
type msgFixture struct {
	s   *Store
	now time.Time
	n   int
}

func newMsgFixture(t *testing.T) *msgFixture {
	t.Helper()
	s, _ := openTemp(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		addUser(t, s, u, "User "+u)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Apply(ctx, AddGroup{By: admin, Name: "icu", Members: []string{"bob", "carol"}}))
	must(s.Apply(ctx, AddGroup{By: admin, Name: "cardio", Members: []string{"bob"}, Role: true}))
	for dev, user := range map[string]string{"dev_a1": "alice", "dev_b1": "bob", "dev_b2": "bob", "dev_c1": "carol"} {
		must(s.Apply(ctx, EnrollDevice{By: admin, Device: Device{ID: dev, User: user, SecretHash: "x"}}))
	}
	return &msgFixture{s: s, now: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
}

// send sends from alice's device a1.
func (f *msgFixture) send(t *testing.T, to []messaging.Address, conv, ref string, p messaging.Priority) (*SendMessage, error) {
	t.Helper()
	f.n++
	at := f.now.Add(time.Duration(f.n) * time.Second)
	c := &SendMessage{By: audit.Actor{User: "alice", Device: "dev_a1"}, NewConversation: messaging.NewConversationID(),
		Msg: messaging.Message{ID: messaging.NewMessageID(at), SentAt: at, From: "alice", SenderDevice: "dev_a1",
			ClientRef: ref, To: to, Conversation: conv, Body: fmt.Sprintf("body %d", f.n), Priority: p}}
	return c, f.s.Apply(context.Background(), c)
}

func (f *msgFixture) ack(t *testing.T, user, dev, id string, st messaging.State) *AckMessage {
	t.Helper()
	c := &AckMessage{By: audit.Actor{User: user, Device: dev}, ID: id, State: st}
	if err := f.s.Apply(context.Background(), c); err != nil {
		t.Fatalf("ack %s %s: %v", id, st, err)
	}
	return c
}

func (f *msgFixture) queue(t *testing.T, dev string) Queue {
	t.Helper()
	q, err := f.s.DeviceQueue(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestDirectMessageLifecycle(t *testing.T) {
	f := newMsgFixture(t)
	c, err := f.send(t, []messaging.Address{{User: "bob"}}, "", "r1", messaging.Urgent)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Result
	if fmt.Sprint(m.Recipients) != "[bob]" || len(c.Deliveries) != 2 || c.Unread["bob"] != 1 || m.FromName != "User alice" {
		t.Fatalf("send result %+v deliveries %v unread %v", m, c.Deliveries, c.Unread)
	}
	// The 1:1 conversation is reused.
	c2, _ := f.send(t, []messaging.Address{{User: "bob"}}, "", "r2", messaging.Normal)
	if c2.Result.Conversation != m.Conversation {
		t.Fatal("the 1:1 conversation was not reused")
	}
	// A repeated client_ref creates nothing.
	c3, err := f.send(t, []messaging.Address{{User: "bob"}}, "", "r1", messaging.Normal)
	if err != nil || !c3.Duplicate || c3.Result.ID != m.ID || len(c3.Deliveries) != 0 {
		t.Fatalf("repeated client_ref: %+v %v", c3, err)
	}
	if q := f.queue(t, "dev_b1"); len(q.Messages) != 2 || q.Messages[0].ID != m.ID {
		t.Fatalf("queue of b1: %+v", q)
	}
	// Delivered on b1: it leaves b1's queue, not b2's; alice's device gets a receipt.
	a := f.ack(t, "bob", "dev_b1", m.ID, messaging.Delivered)
	if !a.Changed || fmt.Sprint(a.SenderDevices) != "[dev_a1]" || a.Receipt.State != messaging.Delivered {
		t.Fatalf("ack delivered: %+v", a)
	}
	if q := f.queue(t, "dev_b1"); len(q.Messages) != 1 {
		t.Fatalf("b1 still has %d messages", len(q.Messages))
	}
	if q := f.queue(t, "dev_b2"); len(q.Messages) != 2 {
		t.Fatalf("b2 lost its queue")
	}
	if q := f.queue(t, "dev_a1"); len(q.Receipts) != 1 || q.Receipts[0].User != "bob" {
		t.Fatalf("alice's receipts: %+v", q.Receipts)
	}
	// Read on b2 counts for bob; a delivered ack after it changes nothing.
	r := f.ack(t, "bob", "dev_b2", m.ID, messaging.Read)
	if !r.Changed || r.Unread != 1 {
		t.Fatalf("read: %+v", r)
	}
	if again := f.ack(t, "bob", "dev_b1", m.ID, messaging.Delivered); again.Changed {
		t.Fatal("a backward ack changed the state")
	}
	if q := f.queue(t, "dev_a1"); len(q.Receipts) != 1 || q.Receipts[0].State != messaging.Read {
		t.Fatalf("alice's receipt did not move to read: %+v", q.Receipts)
	}
	// Someone who is not a recipient cannot ack.
	err = f.s.Apply(context.Background(), &AckMessage{By: audit.Actor{User: "carol", Device: "dev_c1"}, ID: m.ID, State: messaging.Read})
	if !errors.Is(err, messaging.Errorf(messaging.CodeNotFound, "")) {
		t.Fatalf("carol's ack: %v", err)
	}
}

func TestGroupRoleAndRefusals(t *testing.T) {
	f := newMsgFixture(t)
	g, err := f.send(t, []messaging.Address{{Group: "icu"}}, "", "", messaging.Normal)
	if err != nil || fmt.Sprint(g.Result.Recipients) != "[bob carol]" || len(g.Deliveries) != 3 {
		t.Fatalf("group send: %+v %v", g.Result, err)
	}
	g2, _ := f.send(t, []messaging.Address{{Group: "icu"}}, "", "", messaging.Normal)
	if g2.Result.Conversation != g.Result.Conversation {
		t.Fatal("the group's conversation was not reused")
	}
	// A reply in the conversation reaches its members.
	rp, err := f.send(t, nil, g.Result.Conversation, "", messaging.Normal)
	if err != nil || fmt.Sprint(rp.Result.Recipients) != "[bob carol]" {
		t.Fatalf("reply in conversation: %+v %v", rp.Result, err)
	}
	role, err := f.send(t, []messaging.Address{{Role: "cardio"}}, "", "", messaging.Critical)
	if err != nil || fmt.Sprint(role.Result.Recipients) != "[bob]" || role.Result.To[0].RoutedTo != "bob" {
		t.Fatalf("role send: %+v %v", role.Result, err)
	}
	crit, _ := f.s.CriticalUnread(context.Background())
	if len(crit["bob"]) != 1 {
		t.Fatalf("critical index: %v", crit)
	}
	f.ack(t, "bob", "dev_b1", role.Result.ID, messaging.Read)
	if crit, _ := f.s.CriticalUnread(context.Background()); len(crit["bob"]) != 0 {
		t.Fatalf("critical index after read: %v", crit)
	}
	cases := []struct {
		name string
		to   []messaging.Address
		conv string
		code messaging.Code
	}{
		{"unknown user", []messaging.Address{{User: "nobody"}}, "", messaging.CodeUnknownRecipient},
		{"unknown group", []messaging.Address{{Group: "nogroup"}}, "", messaging.CodeUnknownRecipient},
		{"only the sender", []messaging.Address{{User: "alice"}}, "", messaging.CodeUnknownRecipient},
		{"foreign conversation", nil, "cnv_notthere", messaging.CodeForbidden},
	}
	for _, c := range cases {
		_, err := f.send(t, c.to, c.conv, "", messaging.Normal)
		var me *messaging.Error
		if !errors.As(err, &me) || me.Code != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

func TestRecallHistoryPurgeAndDisable(t *testing.T) {
	f := newMsgFixture(t)
	var ids []string
	var conv string
	for i := 0; i < 5; i++ {
		c, err := f.send(t, []messaging.Address{{User: "bob"}}, "", "", messaging.Normal)
		if err != nil {
			t.Fatal(err)
		}
		ids, conv = append(ids, c.Result.ID), c.Result.Conversation
	}
	ctx := context.Background()
	// History, newest first, paged.
	page, err := f.s.History(ctx, audit.Actor{User: "bob"}, conv, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != ids[4] || page[1].ID != ids[3] {
		t.Fatalf("history page 1: %v %v", page, err)
	}
	page, _ = f.s.History(ctx, audit.Actor{User: "bob"}, conv, ids[3], 10)
	if len(page) != 3 || page[0].ID != ids[2] {
		t.Fatalf("history page 2: %v", page)
	}
	if _, err := f.s.History(ctx, audit.Actor{User: "carol"}, conv, "", 10); err == nil {
		t.Fatal("a non-member read the history")
	}
	// Recall: only the sender.
	if err := f.s.Apply(ctx, &RecallMessage{By: audit.Actor{User: "bob"}, ID: ids[0]}); err == nil {
		t.Fatal("bob recalled alice's message")
	}
	rc := &RecallMessage{By: audit.Actor{User: "alice"}, ID: ids[0]}
	if err := f.s.Apply(ctx, rc); err != nil || len(rc.Devices) != 2 {
		t.Fatalf("recall: %v %+v", err, rc)
	}
	q := f.queue(t, "dev_b1")
	if len(q.Messages) != 4 || len(q.Cmds) != 1 || q.Cmds[0].Cmd != "recall" {
		t.Fatalf("queue after recall: %d messages, cmds %+v", len(q.Messages), q.Cmds)
	}
	if m, _ := f.s.Message(ids[0]); m.Body != "" || m.RecalledAt.IsZero() {
		t.Fatalf("recalled message keeps its body: %+v", m)
	}
	// Retention purges bodies of the older messages and keeps metadata.
	pc := &PurgeMessages{Before: f.now.Add(3500 * time.Millisecond), Max: 10}
	if err := f.s.Apply(ctx, pc); err != nil || len(pc.Purged) != 3 { // sent at +1s, +2s, +3s
		t.Fatalf("purge: %v %v", pc.Purged, err)
	}
	if m, _ := f.s.Message(ids[2]); m.Body != "" || m.PurgedAt.IsZero() || m.From != "alice" {
		t.Fatalf("purged message: %+v", m)
	}
	if m, _ := f.s.Message(ids[3]); m.Body == "" {
		t.Fatal("a message within retention lost its body")
	}
	// Disabling bob revokes his devices and drops their queues.
	dis := &SetUserEnabled{By: admin, Login: "bob"}
	if err := f.s.Apply(ctx, dis); err != nil || len(dis.Revoked) != 2 {
		t.Fatalf("disable bob: %v %v", err, dis.Revoked)
	}
	if q := f.queue(t, "dev_b1"); len(q.Messages)+len(q.Cmds) != 0 {
		t.Fatalf("revoked device keeps a queue: %+v", q)
	}
	if d, _, _ := f.s.DeviceAccess("dev_b2"); d.Active() {
		t.Fatal("bob's device is still active")
	}
	if n, err := f.s.VerifyAudit(ctx); err != nil || n == 0 {
		t.Fatalf("audit: %d %v", n, err)
	}
}
