package auth

import (
	"encoding/base64"
	"testing"
)

func TestCSRF(t *testing.T) {
	secret := newSecret()
	a, b := CSRFToken(secret), CSRFToken(secret)
	if a == b {
		t.Error("two tokens for one session are equal; they must be masked afresh")
	}
	if !CheckCSRF(secret, a) || !CheckCSRF(secret, b) {
		t.Error("a token made for the session does not check")
	}
	if CheckCSRF(newSecret(), a) {
		t.Error("a token checks against another session's secret")
	}
	if CheckCSRF(secret, secret) {
		t.Error("the bare secret checks as a token")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(a)
	raw[len(raw)-1] ^= 1
	for _, bad := range []string{"", "x", a[:len(a)-1], a + "A", a + "=", base64.RawURLEncoding.EncodeToString(raw)} {
		if CheckCSRF(secret, bad) {
			t.Errorf("CheckCSRF accepted %q", bad)
		}
	}
	if CheckCSRF("", CSRFToken("")) {
		t.Error("an empty secret checks")
	}
}

func FuzzCheckCSRF(f *testing.F) {
	secret := "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
	f.Add(CSRFToken(secret))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckCSRF(secret, s) {
			// Only a real token can check: it must decode to a mask and
			// the masked secret.
			raw, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil || len(raw) != 2*len(secret) {
				t.Fatalf("accepted %q", s)
			}
			for i := range secret {
				if raw[i]^raw[len(secret)+i] != secret[i] {
					t.Fatalf("accepted %q", s)
				}
			}
		}
	})
}
