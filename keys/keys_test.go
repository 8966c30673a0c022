package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signVerify checks that k's private half signs what its public half
// verifies, so that a pair whose halves do not match cannot pass.
func signVerify(t *testing.T, k *KeyPair) {
	t.Helper()
	msg := []byte("insigne")
	switch k.Alg {
	case Ed25519:
		sig, err := k.Private.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(k.Public.(ed25519.PublicKey), msg, sig) {
			t.Fatal("Ed25519 signature does not verify with the public key")
		}
	case P256:
		h := sha256.Sum256(msg)
		sig, err := k.Private.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(k.Public.(*ecdsa.PublicKey), h[:], sig) {
			t.Fatal("P-256 signature does not verify with the public key")
		}
	default:
		t.Fatalf("unexpected alg %q", k.Alg)
	}
}

func TestGenerate(t *testing.T) {
	for _, alg := range []Alg{Ed25519, P256} {
		t.Run(string(alg), func(t *testing.T) {
			k, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if k.Alg != alg || k.Private == nil || k.Public == nil {
				t.Fatalf("Generate(%s) = %+v", alg, k)
			}
			signVerify(t, k)
			k2, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if equalPublic(k, k2) {
				t.Fatal("two generated keys are equal")
			}
			p := k.PublicOnly()
			if p.Private != nil || !equalPublic(p, k) || k.Private == nil {
				t.Fatal("PublicOnly must drop the private half without touching k")
			}
		})
	}
	if _, err := Generate("RSA"); err == nil || !strings.Contains(err.Error(), "unsupported algorithm") {
		t.Fatalf("Generate(RSA) error = %v", err)
	}
}

func TestNewKeyPair(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]any{
		"P-384 private":     p384,
		"P-384 public":      &p384.PublicKey,
		"short Ed25519 pub": ed25519.PublicKey(make([]byte, 31)),
		"short Ed25519 key": ed25519.PrivateKey(make([]byte, 32)),
		"nil ecdsa":         (*ecdsa.PrivateKey)(nil),
		"string":            "key",
		"nil":               nil,
	} {
		if _, err := NewKeyPair(key); err == nil {
			t.Errorf("NewKeyPair(%s) succeeded", name)
		}
	}
	// A 64-byte Ed25519 key whose public half was altered is rebuilt from
	// its seed.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	bad := append(ed25519.PrivateKey(nil), priv...)
	bad[63] ^= 1
	k, err := NewKeyPair(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Public.(ed25519.PublicKey).Equal(priv.Public()) {
		t.Fatal("NewKeyPair kept a public half that does not match the seed")
	}
	signVerify(t, k)
}

func TestSignatureAlgorithm(t *testing.T) {
	if got := (&KeyPair{Alg: Ed25519}).SignatureAlgorithm(); got != "EdDSA" {
		t.Errorf("Ed25519: %q", got)
	}
	if got := (&KeyPair{Alg: P256}).SignatureAlgorithm(); got != "ES256" {
		t.Errorf("P-256: %q", got)
	}
}

func TestEncodersRefuseInconsistentPairs(t *testing.T) {
	a, _ := Generate(Ed25519)
	b, _ := Generate(Ed25519)
	c, _ := Generate(P256)
	for name, k := range map[string]*KeyPair{
		"nil":            nil,
		"empty":          {},
		"wrong alg":      {Alg: P256, Public: a.Public},
		"mixed halves":   {Alg: Ed25519, Public: a.Public, Private: b.Private},
		"mixed types":    {Alg: Ed25519, Public: a.Public, Private: c.Private},
		"mixed P-256":    {Alg: P256, Public: c.Public, Private: a.Private},
		"ecdsa nil pub":  {Alg: P256, Public: (*ecdsa.PublicKey)(nil)},
		"short ed25519":  {Alg: Ed25519, Public: ed25519.PublicKey{1, 2}},
		"unknown public": {Alg: Ed25519, Public: "x"},
	} {
		if _, err := k.MarshalPrivateJWK(""); err == nil {
			t.Errorf("%s: MarshalPrivateJWK succeeded", name)
		}
		if _, err := k.MarshalPublicJWK(""); err == nil {
			t.Errorf("%s: MarshalPublicJWK succeeded", name)
		}
		if _, err := k.SecretKeyMultibase(); err == nil {
			t.Errorf("%s: SecretKeyMultibase succeeded", name)
		}
		if k != nil {
			if mb := k.PublicKeyMultibase(); mb != "" {
				t.Errorf("%s: PublicKeyMultibase = %q", name, mb)
			}
		}
	}
}
