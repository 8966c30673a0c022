package vcjwt

import (
	"encoding/json"
	"errors"
	"fmt"
)

// member is one top-level member of a JSON object. Both slices alias the
// scanned input, so values travel into the JWT payload (and back out of it)
// without being re-encoded: numbers, escapes and key order stay as the
// issuer wrote them.
type member struct {
	key    string // unescaped name
	rawKey []byte // the quoted name as written
	raw    []byte // the value as written, without surrounding whitespace
}

var errNotObject = errors.New("not a JSON object")

// objectMembers splits a JSON object into its members, in document order.
//
// The input must already have passed json.Valid (or json.Compact): the
// scanner relies on that for the structure of nested values, and only walks
// the top level. It still checks bounds everywhere so that a broken
// precondition yields an error, never a panic.
//
// Duplicate names are refused: encoding/json keeps the last one while other
// parsers keep the first, and a signer and a verifier that disagree about
// which "issuer" was signed defeat the signature.
func objectMembers(data []byte) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, errNotObject
	}
	i = skipSpace(data, i+1)
	members := make([]member, 0, 16)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return nil, errors.New("expected a member name")
			}
			end, err := skipString(data, i)
			if err != nil {
				return nil, err
			}
			rawKey := data[i:end]
			key, err := unquote(rawKey)
			if err != nil {
				return nil, err
			}
			i = skipSpace(data, end)
			if i >= len(data) || data[i] != ':' {
				return nil, errors.New("expected ':' after a member name")
			}
			i = skipSpace(data, i+1)
			vend, err := skipValue(data, i)
			if err != nil {
				return nil, err
			}
			members = append(members, member{key: key, rawKey: rawKey, raw: data[i:vend]})
			i = skipSpace(data, vend)
			if i >= len(data) {
				return nil, errors.New("unterminated object")
			}
			if data[i] == ',' {
				i = skipSpace(data, i+1)
				continue
			}
			if data[i] != '}' {
				return nil, errors.New("expected ',' or '}' after a member")
			}
			i++
			break
		}
	}
	if skipSpace(data, i) != len(data) {
		return nil, errors.New("data after the end of the object")
	}
	if err := checkDuplicates(members); err != nil {
		return nil, err
	}
	return members, nil
}

func checkDuplicates(members []member) error {
	// Credentials have a dozen or so members: a quadratic scan beats
	// allocating a map on the signing hot path.
	if len(members) <= 32 {
		for i := 1; i < len(members); i++ {
			for j := 0; j < i; j++ {
				if members[i].key == members[j].key {
					return fmt.Errorf("duplicate member %q", members[i].key)
				}
			}
		}
		return nil
	}
	seen := make(map[string]struct{}, len(members))
	for _, m := range members {
		if _, dup := seen[m.key]; dup {
			return fmt.Errorf("duplicate member %q", m.key)
		}
		seen[m.key] = struct{}{}
	}
	return nil
}

// lookup returns the raw value of the member named key, or nil.
func lookup(members []member, key string) []byte {
	for _, m := range members {
		if m.key == key {
			return m.raw
		}
	}
	return nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at data[i].
func skipString(data []byte, i int) (int, error) {
	if i >= len(data) || data[i] != '"' {
		return 0, errors.New("expected a string")
	}
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++ // the escaped byte can never end the string
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated string")
}

// skipValue returns the index just past the value starting at data[i].
func skipValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, errors.New("expected a value")
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := skipString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated value")
	default:
		j := i
		for j < len(data) && !isSpace(data[j]) && data[j] != ',' && data[j] != '}' && data[j] != ']' {
			j++
		}
		if j == i {
			return 0, errors.New("expected a value")
		}
		return j, nil
	}
}

// unquote decodes a raw JSON string. Plain ASCII without escapes, which is
// what identifiers and dates almost always are, skips encoding/json.
func unquote(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errors.New("not a JSON string")
	}
	plain := true
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			plain = false
			break
		}
	}
	if plain {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("not a JSON string: %w", err)
	}
	return s, nil
}

func isString(raw []byte) bool { return len(raw) > 0 && raw[0] == '"' }

// credentialFields holds the credential members the JWT claims mirror, as
// raw JSON strings (nil when absent).
type credentialFields struct {
	issuerID  []byte
	id        []byte
	subjectID []byte

	validFrom, validUntil        []byte // VCDM 2.0
	issuanceDate, expirationDate []byte // VCDM 1.1
}

// readCredential extracts the claim-bearing members of a credential and
// checks their JSON types. Absent members are left nil; the callers decide
// which ones they need.
func readCredential(members []member) (credentialFields, error) {
	var f credentialFields
	for _, m := range members {
		var err error
		switch m.key {
		case "issuer":
			f.issuerID, err = issuerID(m.raw)
		case "id":
			f.id, err = stringMember(m)
		case "credentialSubject":
			f.subjectID, err = subjectID(m.raw)
		case "validFrom":
			f.validFrom, err = stringMember(m)
		case "validUntil":
			f.validUntil, err = stringMember(m)
		case "issuanceDate":
			f.issuanceDate, err = stringMember(m)
		case "expirationDate":
			f.expirationDate, err = stringMember(m)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func stringMember(m member) ([]byte, error) {
	if !isString(m.raw) {
		return nil, fmt.Errorf("credential member %q is not a string", m.key)
	}
	return m.raw, nil
}

// issuerID returns the raw id of an issuer, which VCDM allows to be either
// the id itself or a Profile object carrying it.
func issuerID(raw []byte) ([]byte, error) {
	if isString(raw) {
		return raw, nil
	}
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, fmt.Errorf("credential issuer is neither a string nor an object: %w", err)
	}
	id := lookup(ms, "id")
	if id == nil {
		return nil, errors.New("credential issuer has no id")
	}
	if !isString(id) {
		return nil, errors.New("credential issuer id is not a string")
	}
	return id, nil
}

// subjectID returns the raw id of the credential subject, or nil when the
// subject has none. OB 3.0 has a single subject; VCDM also allows an array,
// which only maps onto `sub` when it holds exactly one subject.
func subjectID(raw []byte) ([]byte, error) {
	if len(raw) > 0 && raw[0] == '[' {
		var subjects []json.RawMessage
		if err := json.Unmarshal(raw, &subjects); err != nil {
			return nil, fmt.Errorf("credentialSubject: %w", err)
		}
		if len(subjects) != 1 {
			return nil, nil
		}
		raw = subjects[0]
	}
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, fmt.Errorf("credentialSubject: %w", err)
	}
	id := lookup(ms, "id")
	if id != nil && !isString(id) {
		return nil, errors.New("credentialSubject id is not a string")
	}
	return id, nil
}

// maxJSONDepth matches encoding/json's nesting limit, so that compactJSON
// accepts exactly what encoding/json accepts.
const maxJSONDepth = 10000

// compactJSON appends src to dst without insignificant whitespace, checking
// that src is a single valid JSON value (RFC 8259). It is equivalent to
// json.Compact (the fuzz test holds it to that) but a few times faster:
// validating the credential was the largest non-cryptographic cost of Sign.
// Like encoding/json, it does not validate UTF-8 inside strings.
func compactJSON(dst, src []byte) ([]byte, error) {
	var stackBuf [32]byte
	stack := stackBuf[:0] // open containers, '{' or '['
	fail := func(i int, what string) ([]byte, error) {
		return nil, fmt.Errorf("invalid JSON at offset %d: %s", i, what)
	}
	i := skipSpace(src, 0)
	needValue := true
	for {
		if needValue {
			if i >= len(src) {
				return fail(i, "unexpected end of input")
			}
			switch c := src[i]; c {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return fail(i, "nested too deeply")
				}
				stack = append(stack, c)
				dst = append(dst, c)
				i = skipSpace(src, i+1)
				if i < len(src) && src[i] == c+2 { // '}' and ']' follow '{' and '[' by 2
					stack = stack[:len(stack)-1]
					dst = append(dst, c+2)
					i++
					needValue = false
					continue
				}
				if c == '{' {
					var err error
					if dst, i, err = compactKey(dst, src, i); err != nil {
						return nil, err
					}
				}
				continue
			case '"':
				j, err := scanString(src, i)
				if err != nil {
					return nil, err
				}
				dst = append(dst, src[i:j]...)
				i = j
			case 't', 'f', 'n':
				lit := "null"
				if c == 't' {
					lit = "true"
				} else if c == 'f' {
					lit = "false"
				}
				if len(src)-i < len(lit) || string(src[i:i+len(lit)]) != lit {
					return fail(i, "invalid literal")
				}
				dst = append(dst, lit...)
				i += len(lit)
			default:
				j, err := scanNumber(src, i)
				if err != nil {
					return nil, err
				}
				dst = append(dst, src[i:j]...)
				i = j
			}
			needValue = false
			continue
		}

		i = skipSpace(src, i)
		if len(stack) == 0 {
			if i != len(src) {
				return fail(i, "data after the top-level value")
			}
			return dst, nil
		}
		if i >= len(src) {
			return fail(i, "unexpected end of input")
		}
		top := stack[len(stack)-1]
		switch src[i] {
		case ',':
			dst = append(dst, ',')
			i = skipSpace(src, i+1)
			if top == '{' {
				var err error
				if dst, i, err = compactKey(dst, src, i); err != nil {
					return nil, err
				}
			}
			needValue = true
		case top + 2:
			stack = stack[:len(stack)-1]
			dst = append(dst, top+2)
			i++
		default:
			return fail(i, "expected ',' or the end of the "+map[byte]string{'{': "object", '[': "array"}[top])
		}
	}
}

// compactKey copies a member name and its ':' and skips to the value.
func compactKey(dst, src []byte, i int) ([]byte, int, error) {
	if i >= len(src) || src[i] != '"' {
		return nil, 0, fmt.Errorf("invalid JSON at offset %d: expected a member name", i)
	}
	j, err := scanString(src, i)
	if err != nil {
		return nil, 0, err
	}
	dst = append(dst, src[i:j]...)
	i = skipSpace(src, j)
	if i >= len(src) || src[i] != ':' {
		return nil, 0, fmt.Errorf("invalid JSON at offset %d: expected ':' after a member name", i)
	}
	dst = append(dst, ':')
	return dst, skipSpace(src, i+1), nil
}

// scanString validates the string starting at src[i] and returns the index
// just past it.
func scanString(src []byte, i int) (int, error) {
	for j := i + 1; j < len(src); j++ {
		switch c := src[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			j++
			if j >= len(src) {
				break
			}
			switch src[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(src)-j <= 4 || !isHex(src[j+1]) || !isHex(src[j+2]) || !isHex(src[j+3]) || !isHex(src[j+4]) {
					return 0, fmt.Errorf("invalid JSON at offset %d: invalid \\u escape", j)
				}
				j += 4
			default:
				return 0, fmt.Errorf("invalid JSON at offset %d: invalid escape", j)
			}
		case c < 0x20:
			return 0, fmt.Errorf("invalid JSON at offset %d: control character in string", j)
		}
	}
	return 0, fmt.Errorf("invalid JSON at offset %d: unterminated string", i)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber validates the number starting at src[i] and returns the index
// just past it.
func scanNumber(src []byte, i int) (int, error) {
	j := i
	if j < len(src) && src[j] == '-' {
		j++
	}
	switch {
	case j < len(src) && src[j] == '0':
		j++
	case j < len(src) && '1' <= src[j] && src[j] <= '9':
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	default:
		return 0, invalidValue(i)
	}
	if j < len(src) && src[j] == '.' {
		j++
		if j >= len(src) || !isDigit(src[j]) {
			return 0, invalidValue(i)
		}
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		j++
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j >= len(src) || !isDigit(src[j]) {
			return 0, invalidValue(i)
		}
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	return j, nil
}

func invalidValue(i int) error {
	return fmt.Errorf("invalid JSON at offset %d: invalid value", i)
}
