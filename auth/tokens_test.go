package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestNewToken(t *testing.T) {
	plain, hash := NewToken(APITokenPrefix)
	if !regexp.MustCompile(`^ins_[a-z2-7]{52}$`).MatchString(plain) {
		t.Errorf("token %q is not ins_ and 52 base32 characters", plain)
	}
	sum := sha256.Sum256([]byte(plain))
	if want := hex.EncodeToString(sum[:]); hash != want || HashToken(plain) != want {
		t.Errorf("hash %s, HashToken %s; want %s", hash, HashToken(plain), want)
	}
	seen := map[string]bool{plain: true}
	for range 100 {
		p, _ := NewToken("")
		if seen[p] {
			t.Fatalf("token %s drawn twice", p)
		}
		seen[p] = true
	}
	if p, _ := NewToken(sessionPrefix); len(p) > maxTokenLen {
		t.Errorf("token longer than maxTokenLen: %d", len(p))
	}
}

func TestHashTokenKnownAnswer(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashToken("abc"); got != want {
		t.Errorf("HashToken(abc) = %s, want %s", got, want)
	}
}

func TestNewNonce(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	if a == b || len(a) != 52 {
		t.Errorf("NewNonce gave %q and %q", a, b)
	}
}
