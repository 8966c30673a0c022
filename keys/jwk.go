package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// JWK returns the public JWK of k (RFC 7517; OKP/Ed25519 per RFC 8037,
// EC/P-256 per RFC 7518) with "use":"sig" and the matching "alg", so
// that a verifier fetching the single key behind a JWT kid knows what it
// is for. It never contains the private key.
func (k *KeyPair) JWK(kid string) jose.JSONWebKey {
	return jose.JSONWebKey{
		Key:       k.Public,
		KeyID:     kid,
		Algorithm: string(k.SignatureAlgorithm()),
		Use:       "sig",
	}
}

// MarshalPublicJWK encodes the public JWK of k.
func (k *KeyPair) MarshalPublicJWK(kid string) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(k.JWK(kid))
	if err != nil {
		return nil, fmt.Errorf("keys: marshal public JWK: %w", err)
	}
	return b, nil
}

// MarshalPrivateJWK encodes the private JWK of k, including "d". It is
// meant for key files and sealed storage, never for an API response.
func (k *KeyPair) MarshalPrivateJWK(kid string) ([]byte, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if k.Private == nil {
		return nil, errors.New("keys: marshal private JWK: key pair has no private key")
	}
	jwk := jose.JSONWebKey{
		Key:       k.Private,
		KeyID:     kid,
		Algorithm: string(k.SignatureAlgorithm()),
		Use:       "sig",
	}
	b, err := json.Marshal(jwk)
	if err != nil {
		return nil, fmt.Errorf("keys: marshal private JWK: %w", err)
	}
	return b, nil
}

// ParseJWK parses a public or private JWK: OKP/Ed25519 or EC/P-256.
// A private JWK must have a "d" that matches its public members.
// Symmetric ("oct") and RSA keys are refused.
//
// Members are read by hand rather than with jose.JSONWebKey so that
// errors say exactly what is wrong, member names match exactly (not
// case-insensitively), and an EC "d" is checked against "x"/"y", which
// go-jose does not do.
func ParseJWK(data []byte) (*KeyPair, error) {
	obj, err := jsonObject(data)
	if err != nil {
		return nil, fmt.Errorf("keys: parse JWK: %w", err)
	}
	k, err := parseJWK(obj)
	if err != nil {
		return nil, fmt.Errorf("keys: parse JWK: %w", err)
	}
	return k, nil
}

// jwk holds the members of a JWK this package looks at; nil means absent.
type jwk struct {
	kty, crv, alg, use, x, y, d *string
}

func parseJWK(obj map[string]json.RawMessage) (*KeyPair, error) {
	var j jwk
	// A slice, not a map, so that the first bad member reported is
	// always the same one.
	for _, m := range []struct {
		name string
		dst  **string
	}{
		{"kty", &j.kty}, {"crv", &j.crv}, {"alg", &j.alg}, {"use", &j.use},
		{"x", &j.x}, {"y", &j.y}, {"d", &j.d},
	} {
		v, err := stringMember(obj, m.name)
		if err != nil {
			return nil, err
		}
		*m.dst = v
	}
	if j.kty == nil {
		if _, ok := obj["keys"]; ok {
			return nil, errors.New(`this is a JWK Set ("keys" member), not a single JWK`)
		}
		return nil, errors.New(`missing "kty"`)
	}
	if j.use != nil && *j.use != "sig" {
		return nil, fmt.Errorf(`"use" is %q, want "sig"`, *j.use)
	}
	crv, alg := deref(j.crv), deref(j.alg)
	switch kty := *j.kty; kty {
	case "OKP":
		if crv != "Ed25519" {
			return nil, fmt.Errorf(`OKP curve %q is not supported (want "Ed25519")`, crv)
		}
		if alg != "" && alg != string(jose.EdDSA) && alg != "Ed25519" {
			return nil, fmt.Errorf(`"alg" %q does not fit an Ed25519 key (want "EdDSA")`, alg)
		}
		return parseOKP(&j)
	case "EC":
		if crv != "P-256" {
			return nil, fmt.Errorf(`EC curve %q is not supported (want "P-256")`, crv)
		}
		if alg != "" && alg != string(jose.ES256) {
			return nil, fmt.Errorf(`"alg" %q does not fit a P-256 key (want "ES256")`, alg)
		}
		return parseEC(&j)
	case "oct":
		return nil, errors.New(`symmetric keys (kty "oct") are not accepted; use an Ed25519 or P-256 key`)
	case "RSA":
		return nil, errors.New(`RSA keys are not supported; use an Ed25519 or P-256 key`)
	default:
		return nil, fmt.Errorf(`key type %q is not supported (want "OKP" or "EC")`, kty)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func parseOKP(j *jwk) (*KeyPair, error) {
	x, err := jwkMember("x", j.x, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	if j.d == nil {
		return NewKeyPair(ed25519.PublicKey(x))
	}
	d, err := jwkMember("d", j.d, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(d)
	if subtle.ConstantTimeCompare(priv.Public().(ed25519.PublicKey), x) != 1 {
		return nil, errors.New(`"x" is not the public key of "d"`)
	}
	return NewKeyPair(priv)
}

func parseEC(j *jwk) (*KeyPair, error) {
	x, err := jwkMember("x", j.x, 32)
	if err != nil {
		return nil, err
	}
	y, err := jwkMember("y", j.y, 32)
	if err != nil {
		return nil, err
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf(`"x"/"y" are not a point on P-256: %w`, err)
	}
	if j.d == nil {
		return NewKeyPair(pub)
	}
	d, err := jwkMember("d", j.d, 32)
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf(`invalid P-256 "d": %w`, err)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, errors.New(`"x"/"y" are not the public key of "d"`)
	}
	return NewKeyPair(priv)
}

// jwkMember decodes a base64url member (RFC 7515 §2: no padding) that
// must be exactly size bytes long.
func jwkMember(name string, v *string, size int) ([]byte, error) {
	if v == nil {
		return nil, fmt.Errorf("missing %q", name)
	}
	// Tolerate padding, which some tools emit, but nothing else.
	s := strings.TrimRight(*v, "=")
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not base64url: %w", name, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%q has %d bytes, want %d", name, len(b), size)
	}
	return b, nil
}

// check reports whether k holds a key this package can encode, so that
// encoders fail with an error rather than emit something wrong.
func (k *KeyPair) check() error {
	if k == nil {
		return errors.New("keys: nil key pair")
	}
	switch pub := k.Public.(type) {
	case ed25519.PublicKey:
		if k.Alg != Ed25519 || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("keys: inconsistent Ed25519 key pair (alg %q, %d-byte key)", k.Alg, len(pub))
		}
		if k.Private != nil {
			priv, ok := k.Private.(ed25519.PrivateKey)
			if !ok || len(priv) != ed25519.PrivateKeySize {
				return fmt.Errorf("keys: Ed25519 key pair has a %T private key", k.Private)
			}
			// NewKeyPair and the parsers derive the public half from the
			// seed, so comparing the stored halves is enough here.
			if !bytes.Equal(priv[ed25519.SeedSize:], pub) {
				return errors.New("keys: Ed25519 private and public keys do not match")
			}
		}
	case *ecdsa.PublicKey:
		if k.Alg != P256 || pub == nil || pub.Curve != elliptic.P256() {
			return fmt.Errorf("keys: inconsistent P-256 key pair (alg %q)", k.Alg)
		}
		if _, err := pub.Bytes(); err != nil {
			return fmt.Errorf("keys: invalid P-256 public key: %w", err)
		}
		if k.Private != nil {
			priv, ok := k.Private.(*ecdsa.PrivateKey)
			if !ok || priv == nil || !priv.PublicKey.Equal(pub) {
				return errors.New("keys: P-256 private and public keys do not match")
			}
		}
	default:
		return fmt.Errorf("keys: unsupported public key type %T", k.Public)
	}
	return nil
}
