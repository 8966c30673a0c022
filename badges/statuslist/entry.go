package statuslist

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
)

// Type names and status purposes defined by Bitstring Status List v1.0.
const (
	EntryType         = "BitstringStatusListEntry"
	CredentialType    = "BitstringStatusListCredential"
	SubjectType       = "BitstringStatusList"
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
	PurposeRefresh    = "refresh"
)

// maxIndex is the largest index any list this package accepts can hold.
const maxIndex = MaxDecodedSize*8 - 1

// Entry is a BitstringStatusListEntry, the credentialStatus value pointing
// at one bit of a status list. StatusListIndex is a base-10 string, as the
// specification requires.
type Entry struct {
	ID                   string
	Type                 string
	StatusPurpose        string
	StatusListIndex      string
	StatusListCredential string
}

// NewEntry returns the entry for bit index of the list credential at
// listURL. Its ID is listURL#index: unique per credential and, as required,
// not the URL of the list itself.
func NewEntry(listURL, purpose string, index int) Entry {
	i := strconv.Itoa(index)
	return Entry{
		ID:                   listURL + "#" + i,
		Type:                 EntryType,
		StatusPurpose:        purpose,
		StatusListIndex:      i,
		StatusListCredential: listURL,
	}
}

// Map returns the entry as a JSON-LD object for credentialStatus. The ID is
// omitted when empty (it is optional) and Type defaults to EntryType.
func (e Entry) Map() map[string]any {
	typ := e.Type
	if typ == "" {
		typ = EntryType
	}
	m := map[string]any{
		"type":                 typ,
		"statusPurpose":        e.StatusPurpose,
		"statusListIndex":      e.StatusListIndex,
		"statusListCredential": e.StatusListCredential,
	}
	if e.ID != "" {
		m["id"] = e.ID
	}
	return m
}

// ParseEntry reads a credentialStatus object of type
// BitstringStatusListEntry, as decoded by encoding/json, and returns it with
// its index. statusListIndex may be a base-10 string (as the specification
// requires) or a JSON number (as the 1EdTech examples use); the returned
// Entry holds it normalized to a base-10 string.
func ParseEntry(v map[string]any) (Entry, int, error) {
	var e Entry
	if v == nil {
		return e, 0, errors.New("statuslist: no credentialStatus")
	}
	types, err := stringOrStrings(v["type"])
	if err != nil {
		return e, 0, fmt.Errorf("statuslist: credentialStatus type: %w", err)
	}
	if !slices.Contains(types, EntryType) {
		return e, 0, fmt.Errorf("statuslist: credentialStatus type is %q, want %q", types, EntryType)
	}
	e.Type = EntryType

	if e.ID, err = optionalString(v, "id"); err != nil {
		return e, 0, err
	}
	if e.StatusPurpose, err = requiredString(v, "statusPurpose"); err != nil {
		return e, 0, err
	}
	if e.StatusListCredential, err = requiredString(v, "statusListCredential"); err != nil {
		return e, 0, err
	}
	if u, err := url.Parse(e.StatusListCredential); err != nil || !u.IsAbs() {
		return e, 0, fmt.Errorf("statuslist: credentialStatus statusListCredential %q is not an absolute URL", e.StatusListCredential)
	}
	if e.ID != "" && e.ID == e.StatusListCredential {
		return e, 0, errors.New("statuslist: credentialStatus id must not be the URL of the status list")
	}
	if s, ok := v["statusSize"]; ok {
		// Larger sizes encode multi-valued "message" statuses, which this
		// package does not implement; reading them as 1-bit would be wrong.
		if n, err := toIndex(s); err != nil || n != 1 {
			return e, 0, fmt.Errorf("statuslist: credentialStatus statusSize %v is not supported (only 1)", s)
		}
	}
	raw, ok := v["statusListIndex"]
	if !ok {
		return e, 0, errors.New("statuslist: credentialStatus has no statusListIndex")
	}
	index, err := toIndex(raw)
	if err != nil {
		return e, 0, fmt.Errorf("statuslist: credentialStatus statusListIndex: %w", err)
	}
	e.StatusListIndex = strconv.Itoa(index)
	return e, index, nil
}

// toIndex converts a non-negative integer given as a base-10 string or a
// JSON number into an int no larger than maxIndex.
func toIndex(v any) (int, error) {
	var f float64
	switch x := v.(type) {
	case string:
		return parseDecimal(x)
	case json.Number:
		if n, err := parseDecimal(string(x)); err == nil {
			return n, nil
		}
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	default:
		return 0, fmt.Errorf("%v (%T) is neither a string nor a number", v, v)
	}
	if f != math.Trunc(f) || f < 0 || f > maxIndex {
		return 0, fmt.Errorf("%v is not an integer in [0, %d]", v, maxIndex)
	}
	return int(f), nil
}

// parseDecimal accepts only digits: strconv.Atoi would also take signs.
func parseDecimal(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty string")
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a base-10 integer", s)
		}
		n = n*10 + int(c-'0')
		if n > maxIndex {
			return 0, fmt.Errorf("%q is larger than %d", s, maxIndex)
		}
	}
	return n, nil
}

func requiredString(v map[string]any, key string) (string, error) {
	s, err := optionalString(v, key)
	if err == nil && s == "" {
		err = fmt.Errorf("statuslist: credentialStatus has no %s", key)
	}
	return s, err
}

func optionalString(v map[string]any, key string) (string, error) {
	x, ok := v[key]
	if !ok {
		return "", nil
	}
	s, ok := x.(string)
	if !ok {
		return "", fmt.Errorf("statuslist: credentialStatus %s is %T, want a string", key, x)
	}
	return s, nil
}

// stringOrStrings reads a JSON-LD value that may be a string or an array
// of strings, as "type" and the list's "statusPurpose" may be.
func stringOrStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []string:
		return x, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("array holds a %T, want strings", e)
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, errors.New("missing")
	}
	return nil, fmt.Errorf("%T, want a string or an array of strings", v)
}
