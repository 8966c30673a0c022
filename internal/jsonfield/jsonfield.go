// Package jsonfield names the place of a JSON decoding error the same way
// whatever the Go release: from Go 1.27, encoding/json puts array indices
// in json.UnmarshalTypeError.Field ("recipients.0.email"), which Go 1.26
// leaves out ("recipients.email"). Insigne builds with both (README), and
// its error answers must not change with the toolchain.
package jsonfield

import "strings"

// Path drops the array indices from a json.UnmarshalTypeError field path.
func Path(field string) string {
	if field == "" {
		return ""
	}
	parts := strings.Split(field, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}
