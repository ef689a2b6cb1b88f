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
	}
	if merr != nil {
		a.reply(p, r.ID, messaging.EncodeErrorReply(r.ID, merr))
		done(broker.Ack{Reason: reasonFor(merr)})
		return
	}
	a.respondAlert(by, r, func(cmd *store.RespondAlert, err error) {
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
		}
	})
}

// respondAlert records by's accept or decline of an alert, for a device
// (out/respond) and the web client alike: once the store took it, the
// people the alert reached are told (the first accept closes it for them)
// or a decline moves it on, right after done got the committed command
// (or the refusal, and nothing else happens).
func (a *deviceAPI) respondAlert(by audit.Actor, r alerting.Response, done func(*store.RespondAlert, error)) {
	if a.esc == nil {
		done(nil, messaging.Errorf(messaging.CodeInternal, "alerts are not running"))
		return
	}
	cmd := &store.RespondAlert{By: by, ID: r.ID, Response: r.Response}
	a.store.Submit(cmd, func(err error) {
		done(cmd, err)
		if err == nil {
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
	a.setStatus(by, store.UserStatus{Status: req.Status, ForwardTo: req.ForwardTo}, func(err error) {
		if err != nil {
			answer(nil, err)
			return
		}
		answer(map[string]string{"user": by.User, "status": req.Status, "forward_to": req.ForwardTo}, nil)
	})
}

// setStatus sets by's own status (status.set from a device, or the web
// client) and, once stored, routes by it; done gets the store's answer.
func (a *deviceAPI) setStatus(by audit.Actor, st store.UserStatus, done func(error)) {
	a.store.Submit(store.SetStatus{By: by, Status: st}, func(err error) {
		if err == nil {
			a.oncall.setStatus(by.User, st)
		}
		done(err)
	})
}
