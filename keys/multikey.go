package keys

import (
	"github.com/insigne/insigne/internal/base58"

	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// Multicodec codes (https://github.com/multiformats/multicodec) of the
// keys a Multikey can hold. On the wire they are unsigned varints.
const (
	codecEd25519Pub  = 0xed   // varint 0xed 0x01, "z6Mk…"
	codecP256Pub     = 0x1200 // varint 0x80 0x24, "zDn…"
	codecEd25519Priv = 0x1300 // varint 0x80 0x26, "z3u2…"
	codecP256Priv    = 0x1306 // varint 0x86 0x26
)

// maxMultibaseLen bounds the multibase strings this package decodes.
// The longest valid one (a legacy 64-byte Ed25519 secret) has 92
// characters; the cap keeps the quadratic base58 decoder cheap on
// hostile input.
const maxMultibaseLen = 256

// PublicKeyMultibase returns the Multikey publicKeyMultibase of k:
// "z" + base58btc(multicodec header ‖ key), "z6Mk…" for Ed25519 and
// "zDn…" (compressed point) for P-256. It returns "" if k does not hold
// a supported key.
func (k *KeyPair) PublicKeyMultibase() string {
	if k.check() != nil {
		return ""
	}
	switch pub := k.Public.(type) {
	case ed25519.PublicKey:
		return multibase(codecEd25519Pub, pub)
	case *ecdsa.PublicKey:
		c, err := compressP256(pub)
		if err != nil {
			return ""
		}
		return multibase(codecP256Pub, c)
	}
	return ""
}

// SecretKeyMultibase returns the Multikey secretKeyMultibase of k:
// the 32-byte Ed25519 seed ("z3u2…") or the 32-byte P-256 scalar.
func (k *KeyPair) SecretKeyMultibase() (string, error) {
	if err := k.check(); err != nil {
		return "", err
	}
	switch priv := k.Private.(type) {
	case nil:
		return "", errors.New("keys: secret key multibase: key pair has no private key")
	case ed25519.PrivateKey:
		return multibase(codecEd25519Priv, priv.Seed()), nil
	case *ecdsa.PrivateKey:
		d, err := priv.Bytes()
		if err != nil {
			return "", fmt.Errorf("keys: secret key multibase: %w", err)
		}
		return multibase(codecP256Priv, d), nil
	}
	return "", fmt.Errorf("keys: secret key multibase: unsupported private key type %T", k.Private)
}

func multibase(codec uint64, key []byte) string {
	return "z" + base58.Encode(append(binary.AppendUvarint(nil, codec), key...))
}

// decodeMultibase decodes a "z" (base58btc) multibase string and splits
// off its multicodec header.
func decodeMultibase(s string) (codec uint64, key []byte, err error) {
	switch {
	case s == "":
		return 0, nil, errors.New("empty multibase value")
	case len(s) > maxMultibaseLen:
		return 0, nil, fmt.Errorf("multibase value is %d characters long, more than any supported key (%d)", len(s), maxMultibaseLen)
	case s[0] != 'z':
		r, _ := utf8.DecodeRuneInString(s)
		return 0, nil, fmt.Errorf(`multibase prefix %q is not supported (want "z", base58btc)`, r)
	}
	b, err := base58.Decode(s[1:])
	if err != nil {
		return 0, nil, err
	}
	codec, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errors.New("missing or malformed multicodec header")
	}
	// Only the shortest varint encoding is valid multicodec; refusing the
	// others keeps decode(encode(x)) and encode(decode(s)) exact.
	if !bytes.Equal(b[:n], binary.AppendUvarint(nil, codec)) {
		return 0, nil, errors.New("multicodec header is not minimally encoded")
	}
	return codec, b[n:], nil
}

func codecName(codec uint64) string {
	switch codec {
	case codecEd25519Pub:
		return "Ed25519 public key"
	case codecP256Pub:
		return "P-256 public key"
	case codecEd25519Priv:
		return "Ed25519 secret key"
	case codecP256Priv:
		return "P-256 secret key"
	// Codecs seen in the wild that Insigne does not support; naming them
	// turns "unknown header" into an error a user can act on.
	case 0xe7:
		return "secp256k1 public key"
	case 0xec:
		return "X25519 public key"
	case 0xeb:
		return "BLS12-381 G2 public key"
	case 0x1201:
		return "P-384 public key"
	case 0x1202:
		return "P-521 public key"
	case 0x1205:
		return "RSA public key"
	}
	return fmt.Sprintf("multicodec 0x%x", codec)
}

// DecodePublicKeyMultibase decodes a Multikey publicKeyMultibase value
// ("z6Mk…" Ed25519 or "zDn…" P-256) into a public-only key pair.
func DecodePublicKeyMultibase(s string) (*KeyPair, error) {
	k, err := decodePublicMultibase(s)
	if err != nil {
		return nil, fmt.Errorf("keys: decode publicKeyMultibase: %w", err)
	}
	return k, nil
}

func decodePublicMultibase(s string) (*KeyPair, error) {
	codec, key, err := decodeMultibase(s)
	if err != nil {
		return nil, err
	}
	switch codec {
	case codecEd25519Pub:
		if len(key) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 public key has %d bytes, want %d", len(key), ed25519.PublicKeySize)
		}
		return NewKeyPair(ed25519.PublicKey(key))
	case codecP256Pub:
		if len(key) != 33 {
			return nil, fmt.Errorf("P-256 public key has %d bytes, want a 33-byte compressed point", len(key))
		}
		pub, err := decompressP256(key)
		if err != nil {
			return nil, err
		}
		return NewKeyPair(pub)
	case codecEd25519Priv, codecP256Priv:
		return nil, fmt.Errorf("this is a %s, not a public key", codecName(codec))
	default:
		return nil, fmt.Errorf("%s is not supported (want Ed25519 or P-256)", codecName(codec))
	}
}

// decodeSecretMultibase decodes a Multikey secretKeyMultibase value.
// Besides the 32-byte Ed25519 seed it accepts the legacy 64-byte
// seed ‖ public key form (printed by the 1EdTech implementation guide),
// whose public half must match the seed.
func decodeSecretMultibase(s string) (*KeyPair, error) {
	codec, key, err := decodeMultibase(s)
	if err != nil {
		return nil, err
	}
	switch codec {
	case codecEd25519Priv:
		switch len(key) {
		case ed25519.SeedSize:
			return NewKeyPair(ed25519.NewKeyFromSeed(key))
		case ed25519.PrivateKeySize:
			priv := ed25519.NewKeyFromSeed(key[:ed25519.SeedSize])
			if subtle.ConstantTimeCompare(priv[ed25519.SeedSize:], key[ed25519.SeedSize:]) != 1 {
				return nil, errors.New("legacy 64-byte Ed25519 secret key: its public half does not match its seed")
			}
			return NewKeyPair(priv)
		default:
			return nil, fmt.Errorf("Ed25519 secret key has %d bytes, want %d (or the legacy %d)", len(key), ed25519.SeedSize, ed25519.PrivateKeySize)
		}
	case codecP256Priv:
		if len(key) != 32 {
			return nil, fmt.Errorf("P-256 secret key has %d bytes, want 32", len(key))
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), key)
		if err != nil {
			return nil, fmt.Errorf("invalid P-256 secret key: %w", err)
		}
		return NewKeyPair(priv)
	case codecEd25519Pub, codecP256Pub:
		return nil, fmt.Errorf("this is a %s, not a secret key", codecName(codec))
	default:
		return nil, fmt.Errorf("%s is not supported (want an Ed25519 or P-256 secret key)", codecName(codec))
	}
}

// ParseMultikey parses a Multikey JSON object. It reads
// publicKeyMultibase and secretKeyMultibase (or privateKeyMultibase, its
// older name used by the W3C test vectors). Either half may be absent;
// without a secret the result is public only. When both are present the
// public key must be the one derived from the secret.
func ParseMultikey(data []byte) (*KeyPair, error) {
	obj, err := jsonObject(data)
	if err != nil {
		return nil, fmt.Errorf("keys: parse Multikey: %w", err)
	}
	k, err := parseMultikey(obj)
	if err != nil {
		return nil, fmt.Errorf("keys: parse Multikey: %w", err)
	}
	return k, nil
}

func parseMultikey(obj map[string]json.RawMessage) (*KeyPair, error) {
	pubMB, err := stringMember(obj, "publicKeyMultibase")
	if err != nil {
		return nil, err
	}
	secMB, err := stringMember(obj, "secretKeyMultibase")
	if err != nil {
		return nil, err
	}
	privMB, err := stringMember(obj, "privateKeyMultibase")
	if err != nil {
		return nil, err
	}
	if secMB != nil && privMB != nil && *secMB != *privMB {
		return nil, errors.New("secretKeyMultibase and privateKeyMultibase are both present and differ")
	}
	if secMB == nil {
		secMB = privMB
	}
	var pub *KeyPair
	if pubMB != nil {
		if pub, err = decodePublicMultibase(*pubMB); err != nil {
			return nil, fmt.Errorf("publicKeyMultibase: %w", err)
		}
	}
	if secMB == nil {
		if pub == nil {
			return nil, errors.New("neither publicKeyMultibase nor secretKeyMultibase is present")
		}
		return pub, nil
	}
	k, err := decodeSecretMultibase(*secMB)
	if err != nil {
		return nil, fmt.Errorf("secretKeyMultibase: %w", err)
	}
	if pub != nil && !equalPublic(pub, k) {
		return nil, errors.New("publicKeyMultibase is not the public key of secretKeyMultibase")
	}
	return k, nil
}

// equalPublic reports whether a and b hold the same public key.
func equalPublic(a, b *KeyPair) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pa, ok := a.Public.(equaler)
	return ok && a.Alg == b.Alg && pa.Equal(b.Public)
}

// maxKeyFileSize bounds ParseKeyFile input; real key files are well
// under 1 KiB.
const maxKeyFileSize = 64 << 10

// ParseKeyFile parses a key file that holds either a JWK or a Multikey
// JSON object, telling them apart by their members.
func ParseKeyFile(data []byte) (*KeyPair, error) {
	k, err := parseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("keys: parse key file: %w", err)
	}
	return k, nil
}

func parseKeyFile(data []byte) (*KeyPair, error) {
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%d bytes is too large for a key file (limit %d)", len(data), maxKeyFileSize)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on Windows add a BOM
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty key file")
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return nil, errors.New("PEM keys are not supported; give a JWK or a Multikey JSON object")
	}
	obj, err := jsonObject(trimmed)
	if err != nil {
		return nil, err
	}
	_, hasKty := obj["kty"]
	_, hasKeys := obj["keys"]
	_, hasPub := obj["publicKeyMultibase"]
	_, hasSec := obj["secretKeyMultibase"]
	_, hasPriv := obj["privateKeyMultibase"]
	isMultikey := hasPub || hasSec || hasPriv
	switch {
	case (hasKty || hasKeys) && isMultikey:
		return nil, errors.New("the object mixes JWK and Multikey members; give one or the other")
	case hasKty || hasKeys:
		k, err := parseJWK(obj)
		if err != nil {
			return nil, fmt.Errorf("JWK: %w", err)
		}
		return k, nil
	case isMultikey:
		k, err := parseMultikey(obj)
		if err != nil {
			return nil, fmt.Errorf("Multikey: %w", err)
		}
		return k, nil
	default:
		return nil, errors.New(`neither a JWK (no "kty") nor a Multikey (no "publicKeyMultibase" or "secretKeyMultibase")`)
	}
}

// jsonObject decodes data as one JSON object, keeping member names
// exactly as written.
func jsonObject(data []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("not a JSON object: null")
	}
	return obj, nil
}

// stringMember returns the string member name of obj, or nil when it is
// absent. A member of another JSON type is an error.
func stringMember(obj map[string]json.RawMessage, name string) (*string, error) {
	raw, ok := obj[name]
	if !ok {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%q is not a string", name)
	}
	return &s, nil
}

// compressP256 returns the SEC 1 compressed form of pub:
// 0x02 or 0x03 (the parity of y) ‖ x.
func compressP256(pub *ecdsa.PublicKey) ([]byte, error) {
	u, err := pub.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		return nil, err
	}
	if len(u) != 65 {
		return nil, fmt.Errorf("unexpected P-256 point length %d", len(u))
	}
	out := make([]byte, 33)
	out[0] = 2 | u[64]&1
	copy(out[1:], u[1:33])
	return out, nil
}

// decompressP256 recovers y from a SEC 1 compressed P-256 point by
// solving y² = x³ − 3x + b (mod p). crypto/ecdh and crypto/ecdsa only
// parse uncompressed points, and elliptic.UnmarshalCompressed belongs
// to the deprecated low-level API, so the square root is taken here and
// the result is validated by ecdsa.ParseUncompressedPublicKey, which
// rejects anything not on the curve. Public data only, so math/big's
// variable time does not matter.
func decompressP256(c []byte) (*ecdsa.PublicKey, error) {
	if len(c) != 33 || (c[0] != 2 && c[0] != 3) {
		return nil, errors.New("not a compressed P-256 point (want 0x02 or 0x03 followed by 32 bytes)")
	}
	params := elliptic.P256().Params()
	p := params.P
	x := new(big.Int).SetBytes(c[1:])
	if x.Cmp(p) >= 0 {
		return nil, errors.New("P-256 point x coordinate is out of range")
	}
	// rhs = x³ − 3x + b mod p
	rhs := new(big.Int).Mul(x, x)
	rhs.Mul(rhs, x)
	threeX := new(big.Int).Lsh(x, 1)
	threeX.Add(threeX, x)
	rhs.Sub(rhs, threeX)
	rhs.Add(rhs, params.B)
	rhs.Mod(rhs, p)
	y := new(big.Int).ModSqrt(rhs, p)
	if y == nil {
		return nil, errors.New("not a point on P-256")
	}
	if y.Bit(0) != uint(c[0]&1) {
		y.Sub(p, y)
	}
	u := make([]byte, 65)
	u[0] = 4
	x.FillBytes(u[1:33])
	if y.BitLen() > 256 {
		return nil, errors.New("not a point on P-256")
	}
	y.FillBytes(u[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u)
	if err != nil {
		return nil, fmt.Errorf("not a point on P-256: %w", err)
	}
	return pub, nil
}
