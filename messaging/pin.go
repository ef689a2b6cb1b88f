package messaging

// OpPINSet sets the PIN with which the user signs in on shared devices
// (a Wardline addition): {"op": "pin.set", "pin": "482913"} from one of the
// user's personal devices; {"pin": ""} removes it.
const OpPINSet = "pin.set"

// Length of a PIN, in decimal digits.
const (
	MinPINDigits = 6
	MaxPINDigits = 12
)

// ValidPIN reports whether pin is MinPINDigits to MaxPINDigits ASCII digits.
func ValidPIN(pin string) bool {
	if len(pin) < MinPINDigits || len(pin) > MaxPINDigits {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

func (r *Req) decodePINSet(o object) *Error {
	pin, ok, e := o.str("pin", "pin")
	switch {
	case e != nil:
		return e
	case !ok:
		return Errorf(CodeInvalid, `pin is required ("" removes the PIN)`)
	case pin != "" && !ValidPIN(pin):
		return Errorf(CodeInvalid, "pin must be %d to %d digits", MinPINDigits, MaxPINDigits)
	}
	r.PIN = pin
	return nil
}
