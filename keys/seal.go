package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KEKSize is the size in bytes of a key-encryption key (AES-256).
const KEKSize = 32

// sealVersion1 is the first byte of sealed data in the current format:
//
//	0x01 ‖ 12-byte random nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag
//
// The version byte is also authenticated (it is prepended to the
// additional data), so a future format cannot be confused with this one.
const sealVersion1 = 0x01

// Sealer encrypts private keys at rest with AES-256-GCM under a
// key-encryption key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key-encryption key.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("keys: key-encryption key has %d bytes, want %d", len(kek), KEKSize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keys: new sealer: %w", err)
	}
	// The random-nonce GCM draws a fresh 96-bit nonce for every Seal;
	// with at most a few keys per issuer we stay far below the 2^32
	// messages per key-encryption key it allows.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("keys: new sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and binds aad (for example the key id and
// issuer), which Open must be given again: a sealed key copied to
// another row then fails to open.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	if s == nil || s.aead == nil {
		return nil, errors.New("keys: seal: sealer not initialised (use NewSealer)")
	}
	out := make([]byte, 1, 1+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion1
	return s.aead.Seal(out, nil, plaintext, versionedAAD(sealVersion1, aad)), nil
}

// Open decrypts data made by Seal with the same key-encryption key and
// additional data.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if s == nil || s.aead == nil {
		return nil, errors.New("keys: open: sealer not initialised (use NewSealer)")
	}
	if len(sealed) == 0 {
		return nil, errors.New("keys: open: sealed data is empty")
	}
	if sealed[0] != sealVersion1 {
		return nil, fmt.Errorf("keys: open: unknown sealed format version %d", sealed[0])
	}
	if len(sealed) < 1+s.aead.Overhead() {
		return nil, fmt.Errorf("keys: open: sealed data is truncated (%d bytes)", len(sealed))
	}
	pt, err := s.aead.Open(nil, nil, sealed[1:], versionedAAD(sealVersion1, aad))
	if err != nil {
		// GCM cannot tell these causes apart; list them for the operator.
		return nil, fmt.Errorf("keys: open: authentication failed (wrong key-encryption key, wrong additional data, or corrupted data): %w", err)
	}
	return pt, nil
}

func versionedAAD(version byte, aad []byte) []byte {
	return append([]byte{version}, aad...)
}

// SealKeyPair seals the private JWK of k.
func (s *Sealer) SealKeyPair(k *KeyPair, aad []byte) ([]byte, error) {
	jwk, err := k.MarshalPrivateJWK("")
	if err != nil {
		return nil, fmt.Errorf("keys: seal key pair: %w", err)
	}
	defer clear(jwk) // do not leave the private key lying in memory longer than needed
	return s.Seal(jwk, aad)
}

// OpenKeyPair opens a key pair sealed by SealKeyPair. The result always
// has its private half.
func (s *Sealer) OpenKeyPair(sealed, aad []byte) (*KeyPair, error) {
	jwk, err := s.Open(sealed, aad)
	if err != nil {
		return nil, err
	}
	defer clear(jwk)
	k, err := ParseJWK(jwk)
	if err != nil {
		return nil, fmt.Errorf("keys: open key pair: %w", err)
	}
	if k.Private == nil {
		return nil, errors.New("keys: open key pair: sealed key has no private half")
	}
	return k, nil
}

// ParseKEK decodes a key-encryption key given as text (the INSIGNE_KEK
// variable): 64 hexadecimal digits, or base64 in the standard or URL
// alphabet, padded or not. It must decode to exactly 32 bytes. Errors
// never echo the value, which is a secret.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("keys: key-encryption key is empty")
	}
	if len(s) == 2*KEKSize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.Strict().DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KEKSize {
			return nil, fmt.Errorf("keys: key-encryption key decodes to %d bytes, want %d", len(b), KEKSize)
		}
		return b, nil
	}
	return nil, fmt.Errorf("keys: key-encryption key is neither %d hex digits nor base64 of %d bytes", 2*KEKSize, KEKSize)
}
