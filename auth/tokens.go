package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
)

// Prefixes of the secrets this package hands out. They tell a person (and
// secret scanners) what a leaked string is; they add no entropy.
const (
	// APITokenPrefix starts API tokens: "ins_" followed by 52 characters.
	APITokenPrefix = "ins_"
	// sessionPrefix starts session cookie values.
	sessionPrefix = "inss_"
	// signInLinkPrefix starts one-time sign-in link secrets.
	signInLinkPrefix = "insl_"
)

// tokenBytes is the entropy of every secret: 256 bits.
const tokenBytes = 32

// maxTokenLen caps what is hashed when a presented secret is looked up;
// anything longer cannot be one of ours.
const maxTokenLen = 256

// tokenEncoding is lower-case base32 without padding: no characters that
// need escaping in a URL, a header or a cookie, and a double click selects
// the whole token.
var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns a new random secret, prefix followed by 32 random bytes
// in lower-case base32, and its HashToken. Only the hash is stored; the
// plain secret is shown once to its owner.
func NewToken(prefix string) (plain, hash string) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	plain = prefix + tokenEncoding.EncodeToString(b)
	return plain, HashToken(plain)
}

// HashToken returns the lower-case hex SHA-256 of a plain secret, the form
// in which API tokens, sessions and sign-in links are stored and looked up.
//
// A fast hash is right here, unlike for passwords: the secret has 256 bits
// of entropy, so nobody can guess it from its hash however fast they can
// hash, and a lookup on every request must stay cheap. Storing only the
// hash means a leaked database does not leak usable credentials.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// NewNonce returns a random 256-bit string (52 lower-case base32
// characters) for an OpenID Connect state or nonce. Such values are kept
// in the user's pending sign-in (a short-lived cookie or row) and compared
// once, so they are not hashed.
func NewNonce() string { return newSecret() }

// newSecret returns 32 random bytes in lower-case base32, for secrets that
// are compared rather than looked up by hash (CSRF secrets, PKCE
// verifiers, state and nonce).
func newSecret() string {
	b := make([]byte, tokenBytes)
	rand.Read(b)
	return tokenEncoding.EncodeToString(b)
}
