package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func newTestSealer(t *testing.T) (*Sealer, []byte) {
	t.Helper()
	kek := make([]byte, KEKSize)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s, kek
}

func TestSealRoundTrip(t *testing.T) {
	s, _ := newTestSealer(t)
	pt := []byte("the private key")
	aad := []byte("issuer-1/key-7")
	sealed, err := s.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if sealed[0] != 1 || len(sealed) != 1+12+len(pt)+16 {
		t.Fatalf("sealed = %x (len %d)", sealed, len(sealed))
	}
	if bytes.Contains(sealed, pt) {
		t.Fatal("plaintext visible in sealed data")
	}
	got, err := s.Open(sealed, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pt) {
		t.Fatalf("Open = %q", got)
	}
	// Empty plaintext and nil aad work too.
	sealed, _ = s.Seal(nil, nil)
	if got, err := s.Open(sealed, nil); err != nil || len(got) != 0 {
		t.Fatalf("empty round trip: %q, %v", got, err)
	}
}

func TestSealNonceDiffers(t *testing.T) {
	s, _ := newTestSealer(t)
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a[1:13], b[1:13]) {
		t.Fatal("two seals used the same nonce")
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestOpenFailures(t *testing.T) {
	s, _ := newTestSealer(t)
	other, _ := newTestSealer(t)
	aad := []byte("key-1")
	sealed, _ := s.Seal([]byte("secret"), aad)

	if _, err := other.Open(sealed, aad); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("wrong KEK: %v", err)
	}
	if _, err := s.Open(sealed, []byte("key-2")); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("wrong aad: %v", err)
	}
	if _, err := s.Open(sealed, nil); err == nil {
		t.Error("missing aad: opened")
	}
	// Flipping any bit of any byte must be detected.
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			tampered := append([]byte(nil), sealed...)
			tampered[i] ^= 1 << bit
			if _, err := s.Open(tampered, aad); err == nil {
				t.Fatalf("tampered byte %d bit %d: opened", i, bit)
			}
		}
	}
	for name, in := range map[string][]byte{
		"nil":       nil,
		"version 0": {0},
		"version 2": append([]byte{2}, sealed[1:]...),
		"truncated": sealed[:20],
		"no tag":    sealed[:len(sealed)-16],
		"appended":  append(append([]byte(nil), sealed...), 0),
	} {
		if _, err := s.Open(in, aad); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	var zero Sealer
	if _, err := zero.Seal(nil, nil); err == nil {
		t.Error("zero Sealer sealed")
	}
	if _, err := zero.Open(sealed, aad); err == nil {
		t.Error("zero Sealer opened")
	}
}

func TestNewSealerKEKSize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}

func TestSealKeyPair(t *testing.T) {
	s, _ := newTestSealer(t)
	for _, alg := range []Alg{Ed25519, P256} {
		k, _ := Generate(alg)
		aad := []byte("issuer/" + string(alg))
		sealed, err := s.SealKeyPair(k, aad)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte(`"d"`)) {
			t.Fatal("sealed key pair shows its JWK")
		}
		got, err := s.OpenKeyPair(sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !equalPublic(got, k) || got.Private == nil {
			t.Fatalf("%s: OpenKeyPair changed the key", alg)
		}
		signVerify(t, got)
		if _, err := s.OpenKeyPair(sealed, []byte("other")); err == nil {
			t.Fatalf("%s: OpenKeyPair with the wrong aad succeeded", alg)
		}
		if _, err := s.SealKeyPair(k.PublicOnly(), aad); err == nil {
			t.Fatalf("%s: sealed a public-only key", alg)
		}
	}
	// Sealed data that is not a private JWK is refused.
	pubJWK, _ := (func() ([]byte, error) { k, _ := Generate(Ed25519); return k.MarshalPublicJWK("") })()
	sealed, _ := s.Seal(pubJWK, nil)
	if _, err := s.OpenKeyPair(sealed, nil); err == nil || !strings.Contains(err.Error(), "no private half") {
		t.Fatalf("sealed public JWK: %v", err)
	}
	sealed, _ = s.Seal([]byte("not json"), nil)
	if _, err := s.OpenKeyPair(sealed, nil); err == nil {
		t.Fatal("sealed garbage opened as a key pair")
	}
}

func TestParseKEK(t *testing.T) {
	kek := make([]byte, KEKSize)
	for i := range kek {
		kek[i] = byte(0xf0 + i) // makes std and url base64 differ ('+/' vs '-_')
	}
	for name, s := range map[string]string{
		"hex":          hex.EncodeToString(kek),
		"HEX":          strings.ToUpper(hex.EncodeToString(kek)),
		"std":          base64.StdEncoding.EncodeToString(kek),
		"std raw":      base64.RawStdEncoding.EncodeToString(kek),
		"url":          base64.URLEncoding.EncodeToString(kek),
		"url raw":      base64.RawURLEncoding.EncodeToString(kek),
		"with newline": base64.StdEncoding.EncodeToString(kek) + "\n",
	} {
		got, err := ParseKEK(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, kek) {
			t.Errorf("%s: got %x", name, got)
		}
	}
	secret := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for name, s := range map[string]string{
		"empty":     "",
		"short b64": secret,
		"long hex":  strings.Repeat("ab", 33),
		"bad hex":   strings.Repeat("zz", 32),
		"garbage":   "not a key!",
	} {
		_, err := ParseKEK(s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("%s: error echoes the key: %v", name, err)
		}
	}
}
