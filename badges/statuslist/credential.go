package statuslist

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

const (
	credentialsV2Context = "https://www.w3.org/ns/credentials/v2"
	vcType               = "VerifiableCredential"
)

// ListCredential returns the unsigned status list credential (VCDM 2.0)
// published at id: a BitstringStatusListCredential whose subject, id#list,
// carries the encoded list. The credentials/v2 context defines every term,
// so no other context is needed.
//
// Arrays are []any, not []string, so that JSON-LD processors such as
// json-gold, which only walk []any, can canonicalize the result for signing.
//
// Unlike the verifier side, it insists on MinSize: a shorter list would
// reveal too much about which credential a verifier checks.
func ListCredential(id, issuer, purpose string, b *Bitstring, validFrom time.Time) (map[string]any, error) {
	u, err := url.Parse(id)
	if err != nil || !u.IsAbs() || u.Fragment != "" {
		return nil, fmt.Errorf("statuslist: list credential id %q is not an absolute URL without fragment", id)
	}
	if issuer == "" {
		return nil, errors.New("statuslist: list credential has no issuer")
	}
	switch purpose {
	case PurposeRevocation, PurposeSuspension, PurposeRefresh:
	default:
		// "message" needs statusSize and statusMessage, not implemented.
		return nil, fmt.Errorf("statuslist: unsupported status purpose %q", purpose)
	}
	if b == nil || b.Len() < MinSize {
		return nil, fmt.Errorf("statuslist: a published list needs at least %d bits", MinSize)
	}
	if validFrom.IsZero() {
		return nil, errors.New("statuslist: list credential has no validFrom")
	}
	encoded, err := b.Encode()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"@context":  []any{credentialsV2Context},
		"id":        id,
		"type":      []any{vcType, CredentialType},
		"issuer":    issuer,
		"validFrom": validFrom.UTC().Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id":            id + "#list",
			"type":          SubjectType,
			"statusPurpose": purpose,
			"encodedList":   encoded,
		},
	}, nil
}

// StatusFromListCredential reads bit index of a status list credential, as
// decoded by encoding/json, for an entry with the given purpose: true means
// the status (revoked, suspended…) is set.
//
// It checks the credential's types, that the list serves purpose, and that
// the list is at least MinSize bits long. It does not check the proof, the
// issuer or the validity period: the caller verifies the list credential
// like any other credential first.
func StatusFromListCredential(cred map[string]any, purpose string, index int) (set bool, err error) {
	types, err := stringOrStrings(cred["type"])
	if err != nil {
		return false, fmt.Errorf("statuslist: list credential type: %w", err)
	}
	if !slices.Contains(types, vcType) || !slices.Contains(types, CredentialType) {
		return false, fmt.Errorf("statuslist: list credential type is %q, want %s and %s", types, vcType, CredentialType)
	}
	subject, err := listSubject(cred["credentialSubject"])
	if err != nil {
		return false, err
	}
	if types, err := stringOrStrings(subject["type"]); err != nil || !slices.Contains(types, SubjectType) {
		return false, fmt.Errorf("statuslist: list credentialSubject type is %v, want %s", subject["type"], SubjectType)
	}
	// The list may serve several purposes at once.
	purposes, err := stringOrStrings(subject["statusPurpose"])
	if err != nil {
		return false, fmt.Errorf("statuslist: list statusPurpose: %w", err)
	}
	if !slices.Contains(purposes, purpose) {
		return false, fmt.Errorf("statuslist: list statusPurpose is %q, but the entry's is %q", purposes, purpose)
	}
	encoded, ok := subject["encodedList"].(string)
	if !ok {
		return false, fmt.Errorf("statuslist: list encodedList is %T, want a string", subject["encodedList"])
	}
	b, err := Decode(encoded)
	if err != nil {
		return false, err
	}
	if b.Len() < MinSize {
		return false, fmt.Errorf("statuslist: list has %d bits, fewer than the required %d", b.Len(), MinSize)
	}
	return b.Get(index)
}

// listSubject returns the credentialSubject object. VCDM allows an array;
// a status list credential has exactly one subject.
func listSubject(v any) (map[string]any, error) {
	if arr, ok := v.([]any); ok && len(arr) == 1 {
		v = arr[0]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("statuslist: list credentialSubject is %T, want one object", v)
	}
	return m, nil
}
