package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// These tests exercise signature algorithms and key selection that the
// ES256-only oidctest provider does not, on a Provider built by hand.

func testProvider(keys ...jose.JSONWebKey) *Provider {
	return &Provider{issuer: "https://idp.example", clientID: "insigne", keys: keys, now: time.Now,
		// No JWKS refetch can succeed: there is no server.
		lastRefetch: time.Now()}
}

func testIDToken(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid string) string {
	t.Helper()
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"iss": "https://idp.example", "sub": "s", "aud": "insigne", "nonce": "n",
		"exp": now.Add(time.Minute).Unix(), "iat": now.Unix(),
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func TestVerifyIDTokenAlgorithms(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := func(k crypto.Signer, kid, alg, use string) jose.JSONWebKey {
		return jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: alg, Use: use}
	}
	for _, tc := range []struct {
		name string
		keys []jose.JSONWebKey
		alg  jose.SignatureAlgorithm
		key  crypto.Signer
		kid  string
		ok   bool
	}{
		{"RS256", []jose.JSONWebKey{pub(rsaKey, "r", "RS256", "sig")}, jose.RS256, rsaKey, "r", true},
		{"EdDSA", []jose.JSONWebKey{pub(edKey, "e", "", "")}, jose.EdDSA, edKey, "e", true},
		{"ES256 without kid", []jose.JSONWebKey{pub(rsaKey, "r", "", ""), pub(ecKey, "k", "", "")}, jose.ES256, ecKey, "", true},
		{"RSA key too small", []jose.JSONWebKey{pub(rsaSmall, "r", "", "")}, jose.RS256, rsaSmall, "r", false},
		{"key for encryption", []jose.JSONWebKey{pub(ecKey, "k", "", "enc")}, jose.ES256, ecKey, "k", false},
		{"key for another algorithm", []jose.JSONWebKey{pub(ecKey, "k", "ES384", "")}, jose.ES256, ecKey, "k", false},
		{"RSA key under an EC kid", []jose.JSONWebKey{pub(rsaKey, "k", "", "")}, jose.ES256, ecKey, "k", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProvider(tc.keys...)
			c, err := p.verifyIDToken(t.Context(), testIDToken(t, tc.alg, tc.key, tc.kid), "n")
			if tc.ok && (err != nil || c.Subject != "s") {
				t.Errorf("verifyIDToken = %+v, %v; want success", c, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidIDToken) {
				t.Errorf("verifyIDToken = %+v, %v; want ErrInvalidIDToken", c, err)
			}
		})
	}
}

func TestVerifyIDTokenTooLong(t *testing.T) {
	p := testProvider()
	_, err := p.verifyIDToken(t.Context(), strings.Repeat("a", maxIDToken+1), "n")
	if !errors.Is(err, ErrInvalidIDToken) {
		t.Errorf("error %v", err)
	}
}
