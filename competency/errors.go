package competency

import (
	"errors"
	"fmt"
)

// ErrTooLarge is wrapped by the *InputError an importer returns when the
// input is over MaxImportBytes or holds more than MaxItems items, so that
// the api package can answer 413 rather than 400.
var ErrTooLarge = errors.New("framework too large")

// Limits on imported frameworks. The largest public CASE frameworks (state
// standards with every grade) hold a few thousand items; the caps leave a
// wide margin while keeping one import's memory bounded. Associations are
// capped too because a Moodle cross-reference costs a few bytes of CSV but
// becomes a whole association.
const (
	MaxImportBytes  = 16 << 20
	MaxItems        = 50000
	MaxAssociations = 4 * MaxItems
)

// InputError says what is wrong with a framework and where, in words a user
// can act on.
type InputError struct {
	// Where names the place: a JSON path such as "CFItems[3].identifier",
	// an item ("item 1c2d… (CC1)") or a CSV line ("line 12").
	Where string
	// Problem says what is wrong there.
	Problem string
	// Err is ErrTooLarge for size limits, nil otherwise.
	Err error
}

func (e *InputError) Error() string {
	if e.Where == "" {
		return e.Problem
	}
	return e.Where + ": " + e.Problem
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErr(where, format string, args ...any) *InputError {
	return &InputError{Where: where, Problem: fmt.Sprintf(format, args...)}
}

func tooLarge(where, format string, args ...any) *InputError {
	return &InputError{Where: where, Problem: fmt.Sprintf(format, args...), Err: ErrTooLarge}
}
