package appliance

import (
	"strings"
	"time"

	"github.com/wardline/wardline/alerting"
	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
)

// alertExtras checks an alert request's optional patient fields (trimmed,
// checked as a message's are; nil when all are empty) and expiry.
func alertExtras(in alertRequest) (*messaging.Patient, time.Duration, error) {
	var p *messaging.Patient
	if in.Patient != nil {
		pt := messaging.Patient{MRN: strings.TrimSpace(in.Patient.MRN), Name: strings.TrimSpace(in.Patient.Name),
			Location: strings.TrimSpace(in.Patient.Location)}
		if e := pt.Validate(); e != nil {
			return nil, 0, &directory.FieldError{Field: "patient", Reason: e.Message}
		}
		if pt != (messaging.Patient{}) {
			p = &pt
		}
	}
	if in.Expires == "" {
		return p, 0, nil
	}
	d, err := time.ParseDuration(in.Expires)
	if err != nil || d < time.Second || d > alerting.MaxExpiry {
		return nil, 0, &directory.FieldError{Field: "expires_in", Reason: "must be a duration from 1s to 168h, such as 2h"}
	}
	return p, d, nil
}
