package vcjwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// parsed is a compact JWS split and decoded, not yet verified.
type parsed struct {
	token         string // trimmed
	header        map[string]any
	headerMembers []member
	payload       []byte
}

// Parse decodes a compact JWS without verifying it, for format detection and
// diagnostics. Never trust what it returns; use Verify for that.
//
// It is strict about the form: at most MaxTokenSize bytes, exactly three
// dot-separated base64url parts without padding or embedded whitespace
// (leading and trailing whitespace is ignored, since tokens often come from
// files), and a header that is a JSON object without duplicate names.
func Parse(token string) (header map[string]any, payload []byte, err error) {
	p, err := parse(token)
	if err != nil {
		return nil, nil, err
	}
	return p.header, p.payload, nil
}

func parse(token string) (*parsed, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), MaxTokenSize)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMalformed)
	}
	if n := strings.Count(token, "."); n != 2 {
		return nil, fmt.Errorf("%w: compact JWS has 3 dot-separated parts, found %d", ErrMalformed, n+1)
	}
	h, rest, _ := strings.Cut(token, ".")
	pl, sig, _ := strings.Cut(rest, ".")
	headerJSON, err := decodePart("header", h)
	if err != nil {
		return nil, err
	}
	payload, err := decodePart("payload", pl)
	if err != nil {
		return nil, err
	}
	// The signature may be empty here: an unsecured (alg "none") token is
	// still well-formed, and Verify says why it refuses it.
	if _, err := decodePart("signature", sig); err != nil && sig != "" {
		return nil, err
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("%w: empty payload", ErrMalformed)
	}

	if !json.Valid(headerJSON) {
		return nil, fmt.Errorf("%w: header is not valid JSON", ErrMalformed)
	}
	members, err := objectMembers(headerJSON)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	var header map[string]any
	d := json.NewDecoder(bytes.NewReader(headerJSON))
	d.UseNumber() // keep numeric header values exact for callers that inspect them
	if err := d.Decode(&header); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	return &parsed{token: token, header: header, headerMembers: members, payload: payload}, nil
}

// decodePart decodes one base64url part. encoding/base64 silently skips
// '\r' and '\n', so the alphabet is checked first: the signed bytes are the
// characters of the token, and two spellings of one token must not exist.
func decodePart(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty %s", ErrMalformed, name)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("%w: %s contains %q, which is not base64url", ErrMalformed, name, c)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not valid base64url: %w", ErrMalformed, name, err)
	}
	return b, nil
}

// LooksLikeJWS reports whether b is plausibly a compact JWS (as opposed to
// a JSON credential), e.g. when reading a baked badge. It checks the form
// and that the header names an algorithm; it verifies nothing.
func LooksLikeJWS(b []byte) bool {
	if len(b) > MaxTokenSize {
		return false
	}
	b = bytes.TrimSpace(b)
	// Cheap rejection first: a JSON header always encodes to "ey…" when it
	// starts with '{', and JSON credentials never look like that.
	if len(b) < 5 || b[0] != 'e' || bytes.Count(b, []byte{'.'}) != 2 {
		return false
	}
	p, err := parse(string(b))
	if err != nil {
		return false
	}
	alg, ok := p.header["alg"].(string)
	return ok && alg != ""
}
