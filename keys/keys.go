// Package keys holds the signing keys of Insigne: Ed25519 keys for Data
// Integrity proofs and P-256 keys for JWTs. It converts them to and from
// JWK (RFC 7517, RFC 8037), Multikey (W3C Controlled Identifiers) and
// did:key identifiers, and seals private keys at rest under a
// key-encryption key.
//
// Every parser in this package accepts untrusted input: it returns an
// error naming the problem and never panics.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Alg names a key algorithm supported by Insigne.
type Alg string

const (
	// Ed25519 keys sign Data Integrity proofs (eddsa-rdfc-2022).
	Ed25519 Alg = "Ed25519"
	// P256 keys sign JWTs (ES256), the only curve the 1EdTech validator
	// accepts besides RSA.
	P256 Alg = "P-256"
)

// KeyPair is a public key and, when known, its private half.
//
// Public is an ed25519.PublicKey or a *ecdsa.PublicKey on P-256.
// Private is nil for a public-only key, else an ed25519.PrivateKey or a
// *ecdsa.PrivateKey matching Public.
type KeyPair struct {
	Alg     Alg
	Public  crypto.PublicKey
	Private crypto.Signer
}

// Generate creates a new random key pair.
func Generate(alg Alg) (*KeyPair, error) {
	switch alg {
	case Ed25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate Ed25519 key: %w", err)
		}
		return &KeyPair{Alg: Ed25519, Public: pub, Private: priv}, nil
	case P256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("keys: generate P-256 key: %w", err)
		}
		return &KeyPair{Alg: P256, Public: &priv.PublicKey, Private: priv}, nil
	default:
		return nil, fmt.Errorf("keys: unsupported algorithm %q (want %q or %q)", alg, Ed25519, P256)
	}
}

// NewKeyPair wraps a standard library key: an ed25519.PrivateKey,
// ed25519.PublicKey, *ecdsa.PrivateKey or *ecdsa.PublicKey on P-256.
// A private key gives a full pair, a public key a public-only pair.
func NewKeyPair(key any) (*KeyPair, error) {
	switch key := key.(type) {
	case ed25519.PrivateKey:
		if len(key) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("keys: Ed25519 private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
		}
		// Rebuild from the seed so that a key whose stored public half
		// was tampered with cannot pair a wrong public key with the seed.
		priv := ed25519.NewKeyFromSeed(key.Seed())
		return &KeyPair{Alg: Ed25519, Public: priv.Public(), Private: priv}, nil
	case ed25519.PublicKey:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("keys: Ed25519 public key has %d bytes, want %d", len(key), ed25519.PublicKeySize)
		}
		return &KeyPair{Alg: Ed25519, Public: ed25519.PublicKey(clone(key))}, nil
	case *ecdsa.PrivateKey:
		if key == nil || key.Curve != elliptic.P256() {
			return nil, fmt.Errorf("keys: ECDSA private key is not on P-256")
		}
		// Round-trip through the raw encoding: it validates the scalar
		// and recomputes the public point from it.
		raw, err := key.Bytes()
		if err != nil {
			return nil, fmt.Errorf("keys: invalid P-256 private key: %w", err)
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("keys: invalid P-256 private key: %w", err)
		}
		return &KeyPair{Alg: P256, Public: &priv.PublicKey, Private: priv}, nil
	case *ecdsa.PublicKey:
		if key == nil || key.Curve != elliptic.P256() {
			return nil, fmt.Errorf("keys: ECDSA public key is not on P-256")
		}
		raw, err := key.Bytes()
		if err != nil {
			return nil, fmt.Errorf("keys: invalid P-256 public key: %w", err)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("keys: invalid P-256 public key: %w", err)
		}
		return &KeyPair{Alg: P256, Public: pub}, nil
	default:
		return nil, fmt.Errorf("keys: unsupported key type %T (want Ed25519 or P-256)", key)
	}
}

// PublicOnly returns a copy of k without its private half, safe to
// publish or hand to verifiers.
func (k *KeyPair) PublicOnly() *KeyPair {
	return &KeyPair{Alg: k.Alg, Public: k.Public}
}

// SignatureAlgorithm is the JOSE "alg" value for signatures made with k:
// EdDSA for Ed25519, ES256 for P-256, "" for anything else.
func (k *KeyPair) SignatureAlgorithm() jose.SignatureAlgorithm {
	switch k.Alg {
	case Ed25519:
		return jose.EdDSA
	case P256:
		return jose.ES256
	}
	return ""
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
