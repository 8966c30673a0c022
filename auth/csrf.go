package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
)

// CSRF protection is the synchronizer-token pattern: every session has a
// random secret (Session.CSRF, made by Service.NewSession), each form or
// state-changing request carries a token derived from it, and CheckCSRF
// compares the two. A cross-site attacker can make the browser send the
// session cookie but cannot read the secret to put it in the request.
//
// The token is the secret XORed with a fresh random mask, sent with the
// mask. It changes on every page, which keeps the secret out of reach of
// compression side channels (BREACH) on HTTPS responses that also echo
// attacker-chosen text.

// CSRFToken returns a token for the session whose CSRF secret is
// sessionCSRF, to be put in a form field or read by scripts for a request
// header. Every call returns a different token; all of them check.
func CSRFToken(sessionCSRF string) string {
	secret := []byte(sessionCSRF)
	buf := make([]byte, 2*len(secret))
	mask, masked := buf[:len(secret)], buf[len(secret):]
	rand.Read(mask) // never fails (crypto/rand, Go 1.24+)
	subtle.XORBytes(masked, secret, mask)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// CheckCSRF reports, in time independent of the secret, whether submitted
// is a token made by CSRFToken for sessionCSRF. An empty secret never
// checks, so that a session without one cannot be driven cross-site.
func CheckCSRF(sessionCSRF, submitted string) bool {
	secret := []byte(sessionCSRF)
	if len(secret) == 0 || base64.RawURLEncoding.DecodedLen(len(submitted)) != 2*len(secret) {
		return false
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(submitted)
	if err != nil || len(buf) != 2*len(secret) {
		return false
	}
	mask, masked := buf[:len(secret)], buf[len(secret):]
	subtle.XORBytes(masked, masked, mask)
	return subtle.ConstantTimeCompare(masked, secret) == 1
}
