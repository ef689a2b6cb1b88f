package appliance

import (
	"errors"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/broker"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// respond records an accept or decline of an alert (out/respond): PUBACK
// after the fsync, the answer on in/reply.
func (a *deviceAPI) respond(p broker.Inbound, by audit.Actor, done func(broker.Ack)) {
	r, merr := alerting.DecodeResponse(p.Payload)
	switch {
	case merr != nil:
	case by.User == "":
		merr = messaging.Errorf(messaging.CodeForbidden, "sign in on this shared device first")
	case a.esc == nil:
		merr = messaging.Errorf(messaging.CodeInternal, "alerts are not running")
	}
	if merr != nil {
		a.reply(p, r.ID, messaging.EncodeErrorReply(r.ID, merr))
		done(broker.Ack{Reason: reasonFor(merr)})
		return
	}
	cmd := &store.RespondAlert{By: by, ID: r.ID, Response: r.Response}
	a.store.Submit(cmd, func(err error) {
		var me *messaging.Error
		switch {
		case errors.As(err, &me):
			a.reply(p, r.ID, messaging.EncodeErrorReply(r.ID, me))
			done(broker.Ack{Reason: reasonFor(me)})
		case err != nil:
			done(storeFailure(err))
		default:
			done(broker.Ack{Reason: reasonOK})
			a.reply(p, r.ID, messaging.EncodeReply(r.ID, map[string]any{"id": r.ID, "response": r.Response, "state": cmd.Esc.State}))
			a.esc.responded(cmd)
		}
	})
}

// statusReq sets or reads a user's availability (status.set, status.get).
func (a *deviceAPI) statusReq(req messaging.Req, by audit.Actor, answer func(any, error)) {
	switch {
	case by.User == "":
		answer(nil, messaging.Errorf(messaging.CodeForbidden, "sign in on this shared device first"))
		return
	case a.oncall == nil:
		answer(nil, messaging.Errorf(messaging.CodeInternal, "on-call routing is not running"))
		return
	}
	if req.Op == messaging.OpStatusGet {
		login := req.User
		if login == "" {
			login = by.User
		}
		if _, err := a.store.User(login); err != nil {
			answer(nil, messaging.Errorf(messaging.CodeNotFound, "no user %s", login))
			return
		}
		st := a.oncall.status(login)
		answer(map[string]string{"user": login, "status": st.Status, "forward_to": st.ForwardTo}, nil)
		return
	}
	cmd := store.SetStatus{By: by, Status: store.UserStatus{Status: req.Status, ForwardTo: req.ForwardTo}}
	a.store.Submit(cmd, func(err error) {
		if err != nil {
			answer(nil, err)
			return
		}
		a.oncall.setStatus(by.User, cmd.Status)
		answer(map[string]string{"user": by.User, "status": req.Status, "forward_to": req.ForwardTo}, nil)
	})
}
