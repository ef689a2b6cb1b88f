package alerting

import (
	"encoding/json"
	"time"

	"github.com/wardline/wardline/messaging"
)

// wireAlert is the in/alert payload of docs/device-api.md, with the
// additions state, accepted_by, step and step_due: the same alert id again
// is an update (accepted by someone, or closed). expires_at is when the
// alert closes as expired; step_due when its current step's wait runs out.
type wireAlert struct {
	ID         string             `json:"id"`
	Kind       string             `json:"kind"`
	Priority   messaging.Priority `json:"priority"`
	Text       string             `json:"text,omitempty"`
	Patient    *messaging.Patient `json:"patient,omitempty"`
	Responses  []string           `json:"responses"`
	ExpiresAt  string             `json:"expires_at,omitempty"`
	State      State              `json:"state"`
	AcceptedBy string             `json:"accepted_by,omitempty"`
	Step       int                `json:"step"`
	StepDue    string             `json:"step_due,omitempty"`
}

// EncodeAlert is the in/alert payload of an alert escalation as it stands.
// An accepted or closed alert carries no text or patient: it only tells
// who accepted.
func EncodeAlert(e *Escalation) []byte {
	w := wireAlert{ID: e.ID, State: e.State, AcceptedBy: e.AcceptedBy, Step: e.Step + 1, Responses: []string{}}
	if e.Alert != nil {
		w.Kind, w.Priority = e.Alert.Kind, e.Alert.Priority
	}
	if e.Active() && e.Alert != nil {
		w.Text, w.Patient, w.Responses = e.Alert.Text, e.Alert.Patient, []string{"accept", "decline"}
	}
	if e.Active() {
		w.ExpiresAt = e.ExpiresAt().UTC().Format(time.RFC3339)
	}
	if !e.Due.IsZero() {
		w.StepDue = e.Due.UTC().Format(time.RFC3339)
	}
	b, _ := json.Marshal(w)
	return b
}

// Response is a decoded out/respond payload.
type Response struct {
	ID       string
	Response string // accept or decline
}

// DecodeResponse parses out/respond: {"id": "alr_...", "response": "accept"}.
func DecodeResponse(payload []byte) (Response, *messaging.Error) {
	var in struct {
		ID       *string `json:"id"`
		Response *string `json:"response"`
	}
	if len(payload) > 4096 || json.Unmarshal(payload, &in) != nil {
		return Response{}, messaging.Errorf(messaging.CodeInvalid, "the payload is not a JSON object")
	}
	switch {
	case in.ID == nil || *in.ID == "" || len(*in.ID) > 128:
		return Response{}, messaging.Errorf(messaging.CodeInvalid, "id is required")
	case in.Response == nil || (*in.Response != "accept" && *in.Response != "decline"):
		return Response{}, messaging.Errorf(messaging.CodeInvalid, "response must be accept or decline")
	}
	return Response{ID: *in.ID, Response: *in.Response}, nil
}
