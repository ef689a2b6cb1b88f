package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
	"github.com/wardline/wardline/ui"
)

// webBackend is what the pages read and change, through the store's one
// write path: a web session sends with store.SendMessage and reads with
// store.AckMessage, as a device would, and every read of messages is
// audited before it is shown.
type webBackend struct {
	a *Appliance
	w *web
}

var _ ui.Backend = (*webBackend)(nil)

// userError turns a refusal the person can act on into text for them.
func userError(err error) error {
	var me *messaging.Error
	var fe *directory.FieldError
	switch {
	case errors.As(err, &me):
		return &ui.UserError{Msg: me.Message}
	case errors.As(err, &fe):
		return &ui.UserError{Msg: fe.Error()}
	case errors.Is(err, directory.ErrNotFound):
		return &ui.UserError{Msg: "Not found."}
	case errors.Is(err, directory.ErrReadOnly):
		return &ui.UserError{Msg: "This user comes from Active Directory: change it there."}
	case errors.Is(err, directory.ErrExists):
		return &ui.UserError{Msg: "That exists already."}
	case errors.Is(err, directory.ErrInvalid):
		msg, _, _ := strings.Cut(err.Error(), ": invalid")
		return &ui.UserError{Msg: "Not taken: " + msg + "."}
	}
	return err
}

// names returns display names of logins.
func (b *webBackend) name(login string) string {
	if u, err := b.a.store.User(login); err == nil && u.Name != "" {
		return u.Name
	}
	return login
}

// title names a conversation for a viewer: the group or role it was
// addressed to, or the other people in it.
func (b *webBackend) title(c messaging.Conversation, m messaging.Message, me string) string {
	if c.Kind == messaging.Group {
		for _, a := range m.To {
			if a.Group != "" {
				return a.Group
			}
		}
	}
	var names []string
	for _, login := range c.Members {
		if login != me {
			names = append(names, b.name(login))
		}
	}
	if len(names) == 0 {
		return b.name(me)
	}
	return strings.Join(names, ", ")
}

func (b *webBackend) Conversations(ctx context.Context, v ui.Viewer) ([]ui.ConversationItem, error) {
	if err := b.a.store.Record(ctx, v.Actor().Event("message.list", "user:"+v.Session.Login)); err != nil {
		return nil, err
	}
	list, err := b.a.store.UserConversations(ctx, v.Session.Login, 100)
	if err != nil {
		return nil, err
	}
	out := make([]ui.ConversationItem, 0, len(list))
	for _, c := range list {
		preview := c.Last.Body
		if !c.Last.RecalledAt.IsZero() {
			preview = "Recalled"
		}
		if c.Last.From == v.Session.Login {
			preview = "You: " + preview
		}
		out = append(out, ui.ConversationItem{ID: c.Conversation.ID, Title: b.title(c.Conversation, c.Last, v.Session.Login),
			Preview: preview, Priority: string(c.Last.Priority), At: c.Last.SentAt, Unread: c.Unread})
	}
	return out, nil
}

// messageItem is a message as login sees it.
func messageItem(m messaging.Message, login string) ui.MessageItem {
	it := ui.MessageItem{ID: m.ID, Conv: m.Conversation, From: m.From, FromName: m.FromName, Body: m.Body, Priority: string(m.Priority),
		SentAt: m.SentAt, Mine: m.From == login, Recalled: !m.RecalledAt.IsZero()}
	if it.FromName == "" {
		it.FromName = m.From
	}
	if p := m.Patient; p != nil {
		it.Patient = strings.Trim(strings.Join([]string{p.Name, p.MRN, p.Location}, " · "), " ·")
	}
	for _, a := range m.To {
		it.To = append(it.To, ui.AddressItem{Kind: a.Kind(), Name: a.Name()})
	}
	return it
}

func (b *webBackend) Conversation(ctx context.Context, v ui.Viewer, id string) (ui.ConversationPage, error) {
	if !messaging.ValidConversationID(id) {
		return ui.ConversationPage{}, &ui.UserError{Msg: "no such conversation"}
	}
	by := v.Actor()
	msgs, err := b.a.store.History(ctx, by, id, "", 200)
	if err != nil {
		return ui.ConversationPage{}, userError(err)
	}
	c, err := b.a.store.Conversation(id)
	if err != nil {
		return ui.ConversationPage{}, userError(err)
	}
	p := ui.ConversationPage{ID: id}
	for _, login := range c.Members {
		p.Members = append(p.Members, ui.Person{Kind: "user", Login: login, Name: b.name(login)})
	}
	slices.Reverse(msgs)
	if len(msgs) > 0 {
		p.Title = b.title(c, msgs[len(msgs)-1], v.Session.Login)
	} else {
		p.Title = b.title(c, messaging.Message{}, v.Session.Login)
	}
	for _, m := range msgs {
		it := messageItem(m, v.Session.Login)
		if it.Mine {
			states, _ := b.a.store.MessageStates(m.ID)
			for _, s := range states {
				it.States = append(it.States, ui.StateItem{User: s.User, State: string(s.State), At: s.At})
			}
		} else if slices.Contains(m.Recipients, v.Session.Login) && m.RecalledAt.IsZero() && !b.readBy(m.ID, v.Session.Login) {
			// Shown in the browser: read for the user.
			_ = b.ack(ctx, by, m.ID, messaging.Read)
		}
		p.Messages = append(p.Messages, it)
	}
	return p, nil
}

// readBy reports whether login has read message id already.
func (b *webBackend) readBy(id, login string) bool {
	states, err := b.a.store.MessageStates(id)
	if err != nil {
		return false
	}
	for _, st := range states {
		if st.User == login {
			return st.State == messaging.Read
		}
	}
	return false
}

func (b *webBackend) Send(ctx context.Context, v ui.Viewer, c ui.Compose) (string, error) {
	s := messaging.Send{Conversation: c.Conversation, Body: strings.TrimSpace(c.Body), Priority: messaging.Priority(c.Priority)}
	if s.Priority == "" {
		s.Priority = messaging.Normal
	}
	if c.Conversation == "" {
		var a messaging.Address
		switch c.ToKind {
		case "user", "":
			a.User = c.To
		case "role":
			a.Role = c.To
		case "group":
			a.Group = c.To
		default:
			return "", &ui.UserError{Msg: "choose a person, a role or a group"}
		}
		na, ok := a.Normalize()
		if !ok {
			return "", &ui.UserError{Msg: "the recipient is not a valid name"}
		}
		s.To = []messaging.Address{na}
	} else if !messaging.ValidConversationID(c.Conversation) {
		return "", &ui.UserError{Msg: "no such conversation"}
	}
	if e := s.Validate(b.a.cfg.Messaging.MaxBody); e != nil {
		return "", &ui.UserError{Msg: e.Message}
	}
	rs := b.a.api.routeSend(v.Actor(), v.Session.Login, s, time.Now().UTC())
	if err := b.a.store.Apply(ctx, rs.command); err != nil {
		b.a.api.refused.Add(1)
		return "", userError(err)
	}
	b.a.api.delivered(rs)
	return rs.msg.Result.Conversation, nil
}

func (b *webBackend) Ack(ctx context.Context, v ui.Viewer, id, state string) error {
	if !messaging.ValidMessageID(id) {
		return &ui.UserError{Msg: "no such message"}
	}
	return userError(b.ack(ctx, v.Actor(), id, messaging.State(state)))
}

// ack records a delivery state for the viewer and passes the receipt on.
func (b *webBackend) ack(ctx context.Context, by audit.Actor, id string, st messaging.State) error {
	cmd := &store.AckMessage{By: by, ID: id, State: st}
	if err := b.a.store.Apply(ctx, cmd); err != nil {
		return err
	}
	b.a.api.acks.Add(1)
	b.a.api.out.acked(cmd)
	return nil
}

func (b *webBackend) Search(ctx context.Context, v ui.Viewer, q string) ([]ui.Person, error) {
	var out []ui.Person
	for _, h := range b.a.api.search(q) {
		switch {
		case h.User != "":
			out = append(out, ui.Person{Kind: "user", Login: h.User, Name: h.Name, Department: h.Department, Title: h.Title})
		case h.Role != "":
			out = append(out, ui.Person{Kind: "role", Login: h.Role})
		case h.Group != "":
			out = append(out, ui.Person{Kind: "group", Login: h.Group})
		}
	}
	return out, nil
}

// Subscribe streams the viewer's events until ctx ends or the session
// does (signed out, timed out, or the user disabled).
func (b *webBackend) Subscribe(ctx context.Context, v ui.Viewer) <-chan ui.Event {
	in, cancel := b.w.hub.subscribe(v.Session.Login)
	out := make(chan ui.Event)
	go func() {
		defer close(out)
		defer cancel()
		check := time.NewTicker(5 * time.Second)
		defer check.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-check.C:
				if !b.w.sessions.Alive(v.Key) {
					return
				}
			case ev := <-in:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (b *webBackend) Dashboard(ctx context.Context, v ui.Viewer) (ui.Dashboard, error) {
	if err := b.a.store.Record(ctx, v.Actor().Event("admin.dashboard")); err != nil {
		return ui.Dashboard{}, err
	}
	st := b.a.status(ctx)
	devs, _ := b.a.store.Devices(ctx)
	active := 0
	for _, d := range devs {
		if d.Active() {
			active++
		}
	}
	d := ui.Dashboard{Ready: st.Ready, Version: st.Version, Instance: st.Instance, Started: st.Started, Users: st.Users,
		Devices: active, Connected: st.MQTT.Clients, Sent: b.a.api.sent.Load(), Refused: b.a.api.refused.Load(), AuditEvents: st.Store.AuditEvents}
	if mins := time.Since(st.Started).Minutes(); mins > 0 {
		d.SentPerMin = float64(d.Sent) / mins
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(b.a.cfg.DataDir, &fs) == nil {
		d.DiskFree, d.DiskTotal = fs.Bavail*uint64(fs.Bsize), fs.Blocks*uint64(fs.Bsize)
	}
	for _, c := range st.Certificates {
		d.Certificates = append(d.Certificates, ui.CertItem{Name: c.Name, NotAfter: c.NotAfter, Issuer: c.Issuer})
	}
	return d, nil
}

func (b *webBackend) Users(ctx context.Context, v ui.Viewer) ([]directory.User, error) {
	if err := b.a.store.Record(ctx, v.Actor().Event("user.list", "users:*")); err != nil {
		return nil, err
	}
	return b.a.store.Users(ctx)
}

func (b *webBackend) SetUserEnabled(ctx context.Context, v ui.Viewer, login string, enabled bool) error {
	login, err := directory.NormalizeLogin(login)
	if err != nil {
		return userError(err)
	}
	cmd := &store.SetUserEnabled{By: v.Actor(), Login: login, Enabled: enabled}
	err = b.a.store.Apply(ctx, cmd)
	b.a.api.access.invalidate()
	if err != nil {
		return userError(err)
	}
	for _, id := range cmd.Revoked {
		b.a.api.out.wipe(ctx, id)
	}
	if !enabled {
		b.a.api.endSessions(login) // the store signed the user out of shared devices
		return endUserWebSessions(ctx, b.a.store, v.Actor(), login, "user disabled")
	}
	return nil
}

func (b *webBackend) Devices(ctx context.Context, v ui.Viewer) ([]ui.DeviceItem, error) {
	devs, err := b.a.store.Devices(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ui.DeviceItem, 0, len(devs))
	for _, d := range devs {
		out = append(out, ui.DeviceItem{ID: d.ID, User: d.User, Name: d.Name, Created: d.Created, Revoked: d.Revoked, Connected: b.a.api.out.connected(d.ID)})
	}
	return out, nil
}

// enrolmentPayload is what the QR code of a new device holds.
type enrolmentPayload struct {
	Server string `json:"server"`
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

func (b *webBackend) EnrollDevice(ctx context.Context, v ui.Viewer, login, name string) (ui.Enrolled, error) {
	login, err := directory.NormalizeLogin(login)
	if err != nil {
		return ui.Enrolled{}, userError(err)
	}
	if len(name) > 128 {
		return ui.Enrolled{}, &ui.UserError{Msg: "the device name is longer than 128 characters"}
	}
	d := store.Device{ID: newDeviceID(), User: login, Name: name}
	secret, err := enrollDevice(ctx, b.a.store, b.a.api.access, v.Actor(), &d)
	if err != nil {
		return ui.Enrolled{}, userError(err)
	}
	payload, _ := json.Marshal(enrolmentPayload{Server: b.w.base.Hostname(), ID: d.ID, Secret: secret})
	svg, err := qrSVG(string(payload))
	if err != nil {
		return ui.Enrolled{}, err
	}
	return ui.Enrolled{ID: d.ID, Secret: secret, QRSVG: svg}, nil
}

func (b *webBackend) RevokeDevice(ctx context.Context, v ui.Viewer, id string, wipe bool) error {
	if !broker.ValidDeviceID(id) {
		return &ui.UserError{Msg: "not a device id"}
	}
	err := b.a.store.Apply(ctx, store.RevokeDevice{By: v.Actor(), ID: id})
	b.a.api.access.invalidate()
	if err != nil {
		return userError(err)
	}
	if wipe {
		b.a.api.out.wipe(ctx, id)
	} else {
		b.a.api.out.offline(id)
		b.a.broker.Disconnect(id)
	}
	return nil
}

// auditMatch is the filter of the audit viewer.
func auditMatch(f ui.AuditFilter) func(audit.Event) bool {
	return func(e audit.Event) bool {
		switch {
		case !f.Since.IsZero() && e.Time.Before(f.Since), !f.Until.IsZero() && !e.Time.Before(f.Until):
			return false
		case f.Actor != "" && e.Actor != f.Actor,
			f.Action != "" && !strings.HasPrefix(e.Action, f.Action),
			f.Outcome != "" && e.Outcome != f.Outcome,
			f.Object != "" && !slices.Contains(e.Objects, f.Object):
			return false
		}
		return true
	}
}

func (b *webBackend) Audit(ctx context.Context, v ui.Viewer, f ui.AuditFilter) ([]audit.Event, error) {
	return b.a.store.RecentAudit(ctx, v.Actor(), auditMatch(f), f.Limit)
}

func (b *webBackend) VerifyAudit(ctx context.Context, v ui.Viewer) (ui.VerifyResult, error) {
	n, err := b.a.store.VerifyAudit(ctx)
	res := ui.VerifyResult{OK: err == nil, Events: n}
	var be *audit.BreakError
	switch {
	case errors.As(err, &be):
		res.FirstBad, res.Error = be.Seq, be.Error()
	case err != nil:
		return res, err
	}
	ev := v.Actor().Event("audit.verify", "audit:*")
	if !res.OK {
		ev.Outcome, ev.Reason = audit.OutcomeFailed, res.Error
	}
	return res, b.a.store.Record(ctx, ev)
}

func (b *webBackend) ExportAudit(ctx context.Context, v ui.Viewer, f ui.AuditFilter, w io.Writer) error {
	enc := json.NewEncoder(w)
	match := auditMatch(f)
	return b.a.store.ExportAudit(ctx, v.Actor(), f.Since, f.Until, func(e audit.Event) error {
		if !match(e) {
			return nil
		}
		return enc.Encode(e)
	})
}

func (b *webBackend) Settings(ctx context.Context, v ui.Viewer) (ui.Settings, error) {
	c := b.a.cfg
	s := ui.Settings{Retention: b.a.retention(), CriticalRepeat: b.a.criticalRepeat(),
		FileRetention: c.Messaging.Retention.Duration, FileRepeat: c.Messaging.CriticalRepeat.Duration,
		SessionIdle: c.Web.SessionIdle.Duration, SessionMax: c.Web.SessionMax.Duration, MaxBody: c.Messaging.MaxBody}
	if set, err := b.a.store.Settings(); err == nil {
		if set.Retention > 0 {
			s.SetRetention = set.Retention.String()
		}
		if set.CriticalRepeat > 0 {
			s.SetRepeat = set.CriticalRepeat.String()
		}
	}
	if sp := b.w.sp.Load(); sp != nil {
		s.SAML, s.EntityID = true, sp.EntityID()
	}
	return s, nil
}

func (b *webBackend) SaveSettings(ctx context.Context, v ui.Viewer, retention, repeat string) error {
	var s store.Settings
	for _, f := range []struct {
		v, name string
		dst     *time.Duration
		min     time.Duration
	}{{retention, "retention", &s.Retention, store.MinRetention}, {repeat, "critical repeat", &s.CriticalRepeat, store.MinCriticalRepeat}} {
		if f.v == "" {
			continue
		}
		d, err := time.ParseDuration(f.v)
		if err != nil || d < f.min {
			return &ui.UserError{Msg: fmt.Sprintf("The %s must be a duration such as 720h or 2m, at least %s.", f.name, f.min)}
		}
		*f.dst = d
	}
	return b.a.changeSettings(ctx, v.Actor(), s)
}

func (b *webBackend) Backup(ctx context.Context, v ui.Viewer, w io.Writer) error {
	info, err := b.a.store.Backup(ctx, w, v.Actor(), "web")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	b.a.log.Info("backup downloaded from the web", "instance", info.Instance, "by", v.Actor().User)
	return nil
}
