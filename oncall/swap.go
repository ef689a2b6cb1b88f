package oncall

import (
	"fmt"
	"time"
)

// Swap returns the two overrides by which the people covering role at a
// and at b exchange those stretches: whoever covers at a takes the
// stretch around b, and the other way round. ids names the overrides.
func Swap(x *Index, role string, a, b time.Time, ids [2]string) ([2]Shift, error) {
	ea, oka := x.Who(role, a)
	eb, okb := x.Who(role, b)
	switch {
	case !oka || !okb:
		return [2]Shift{}, fmt.Errorf("nobody covers %s at one of the two times: %w", role, ErrNoCover)
	case ea.User == eb.User:
		return [2]Shift{}, fmt.Errorf("%s covers both stretches; nothing to swap: %w", ea.User, ErrSyntax)
	case ea.Start.Before(eb.End) && eb.Start.Before(ea.End):
		return [2]Shift{}, fmt.Errorf("the two stretches overlap: %w", ErrOverlap)
	}
	return [2]Shift{
		{ID: ids[0], Role: role, User: eb.User, Start: ea.Start, End: ea.End, Layer: LayerOverride, Note: "swap with " + ea.User},
		{ID: ids[1], Role: role, User: ea.User, Start: eb.Start, End: eb.End, Layer: LayerOverride, Note: "swap with " + eb.User},
	}, nil
}
