package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MaxPasswordBytes is the longest password accepted. Argon2 itself takes
// any length, but a cap keeps a request from making the server hash
// megabytes, and no password manager produces anything near it.
const MaxPasswordBytes = 1024

var (
	// ErrPasswordEmpty is returned for an empty password.
	ErrPasswordEmpty = errors.New("auth: password is empty")
	// ErrPasswordTooLong is returned for a password over MaxPasswordBytes.
	ErrPasswordTooLong = fmt.Errorf("auth: password is longer than %d bytes", MaxPasswordBytes)
	// ErrMalformedHash is returned when a stored password hash is not an
	// argon2id PHC string this package can check.
	ErrMalformedHash = errors.New("auth: malformed password hash")
)

// argon2Params are the cost parameters of an argon2id hash. They are
// written into every PHC string, so they can be raised later without
// invalidating the hashes already stored.
type argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// defaultArgon2Params are used by HashPassword: 64 MiB, 2 passes, 1 lane,
// a 16-byte salt and a 32-byte hash. That is above every row of the OWASP
// Password Storage Cheat Sheet table (the strongest being 46 MiB, t=1, p=1)
// and costs a few tens of milliseconds on a server core. Memory is what
// makes GPU attacks expensive; one lane because sign-ins are already
// parallel across requests (Service caps how many run at once).
var defaultArgon2Params = argon2Params{Memory: 64 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds accepted when parsing a PHC string. A stored hash is trusted
// input, but a corrupted or hostile row must not make CheckPassword
// allocate gigabytes or spin for minutes.
const (
	maxArgon2Memory  = 1 << 20 // KiB, that is 1 GiB
	maxArgon2Time    = 64
	minArgon2SaltLen = 8 // the reference implementation's minimum
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 128
)

// phcPrefix starts every hash this package writes or reads. Only
// version 19 (0x13) exists in golang.org/x/crypto/argon2.
const phcPrefix = "$argon2id$v=19$"

// phcB64 is the PHC string format's base64: standard alphabet without
// padding. Strict decoding rejects non-zero trailing bits, so each hash
// has exactly one valid spelling.
var phcB64 = base64.RawStdEncoding.Strict()

// checkPasswordInput applies the length rules to a candidate password.
func checkPasswordInput(pw string) error {
	if pw == "" {
		return ErrPasswordEmpty
	}
	if len(pw) > MaxPasswordBytes {
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword hashes pw with argon2id and defaultArgon2Params under a
// fresh random salt and returns the PHC string
// "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>".
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, defaultArgon2Params)
}

func hashPassword(pw string, params argon2Params) (string, error) {
	if err := checkPasswordInput(pw); err != nil {
		return "", err
	}
	salt := make([]byte, params.SaltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	h := phcHash{params: params, salt: salt}
	h.key = argon2.IDKey([]byte(pw), salt, params.Time, params.Memory, params.Threads, params.KeyLen)
	return h.String(), nil
}

// CheckPassword reports whether pw matches the PHC string encoded. A wrong
// password gives false and no error; an error means that pw breaks the
// length rules (ErrPasswordEmpty, ErrPasswordTooLong) or that encoded is
// not a usable argon2id hash (ErrMalformedHash).
func CheckPassword(encoded, pw string) (bool, error) {
	if err := checkPasswordInput(pw); err != nil {
		return false, err
	}
	h, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// phcHash is a parsed argon2id PHC string.
type phcHash struct {
	params    argon2Params
	salt, key []byte
}

// String formats h as a PHC string.
func (h phcHash) String() string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix,
		h.params.Memory, h.params.Time, h.params.Threads,
		phcB64.EncodeToString(h.salt), phcB64.EncodeToString(h.key))
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash". It is strict
// (parameters in that order, decimal without sign or leading zero,
// canonical base64, no optional fields), so that a parsed string formats
// back to itself, and it bounds every parameter.
func parsePHC(s string) (phcHash, error) {
	var h phcHash
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		if strings.HasPrefix(s, "$argon2id$") {
			return h, fmt.Errorf("%w: unsupported argon2 version (want v=19)", ErrMalformedHash)
		}
		return h, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return h, fmt.Errorf("%w: want parameters, salt and hash separated by '$'", ErrMalformedHash)
	}
	params := strings.Split(fields[0], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("%w: want exactly the parameters m, t and p", ErrMalformedHash)
	}
	m, err := phcParam(params[0], "m", 8, maxArgon2Memory)
	if err != nil {
		return h, err
	}
	t, err := phcParam(params[1], "t", 1, maxArgon2Time)
	if err != nil {
		return h, err
	}
	p, err := phcParam(params[2], "p", 1, 255)
	if err != nil {
		return h, err
	}
	// RFC 9106 §3.1: memory is at least 8 KiB per lane.
	if m < 8*p {
		return h, fmt.Errorf("%w: m=%d is below 8 KiB per lane (p=%d)", ErrMalformedHash, m, p)
	}
	h.params = argon2Params{Memory: m, Time: t, Threads: uint8(p)}
	if h.salt, err = phcBytes(fields[1], "salt", minArgon2SaltLen, maxArgon2SaltLen); err != nil {
		return h, err
	}
	if h.key, err = phcBytes(fields[2], "hash", minArgon2KeyLen, maxArgon2KeyLen); err != nil {
		return h, err
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	return h, nil
}

// phcParam parses "name=value" with min <= value <= max.
func phcParam(s, name string, min, max uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: parameter %q where %s= was expected", ErrMalformedHash, s, name)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != v {
		return 0, fmt.Errorf("%w: parameter %s=%q is not a plain decimal number", ErrMalformedHash, name, v)
	}
	if n < uint64(min) || n > uint64(max) {
		return 0, fmt.Errorf("%w: parameter %s=%d is outside [%d, %d]", ErrMalformedHash, name, n, min, max)
	}
	return uint32(n), nil
}

// phcBytes decodes a base64 field whose decoded length is within bounds.
func phcBytes(s, name string, min, max int) ([]byte, error) {
	if phcB64.DecodedLen(len(s)) > max {
		return nil, fmt.Errorf("%w: %s is longer than %d bytes", ErrMalformedHash, name, max)
	}
	// encoding/base64 skips '\r' and '\n'; a PHC string has none.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: %s contains a line break", ErrMalformedHash, name)
	}
	b, err := phcB64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not unpadded base64: %v", ErrMalformedHash, name, err)
	}
	if len(b) < min {
		return nil, fmt.Errorf("%w: %s has %d bytes, want at least %d", ErrMalformedHash, name, len(b), min)
	}
	return b, nil
}
