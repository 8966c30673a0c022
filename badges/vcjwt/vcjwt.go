// Package vcjwt issues and verifies Open Badges 3.0 credentials secured with
// the JSON Web Token proof format (VC-JWT).
//
// OB 3.0 defines its own profile of VC-JWT, which differs from the W3C
// VC-JOSE-COSE recommendation: the JOSE header carries only alg, typ "JWT"
// and one of kid or jwk ("Additional JOSE Headers are NOT allowed"), and the
// payload is the credential itself with the registered claims iss, jti, nbf,
// sub and exp mirroring issuer.id, id, validFrom, credentialSubject.id and
// validUntil. Sign produces exactly that. Verify is more liberal, as
// verifiers should be: it also accepts typ "vc+jwt" and the VCDM 1.1 shape
// where the credential sits in a `vc` claim, as the 1EdTech validator does.
package vcjwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// MaxTokenSize bounds the compact serialisation Sign produces and Verify,
// Parse and LooksLikeJWS accept. Credentials are a few KiB; the cap keeps a
// hostile input from costing more than a bounded decode.
const MaxTokenSize = 1 << 20

// Errors returned by this package wrap one of these, so callers can classify
// a failure with errors.Is while the message names the precise cause.
var (
	ErrTooLarge   = errors.New("vcjwt: token too large")
	ErrMalformed  = errors.New("vcjwt: malformed token")
	ErrAlgorithm  = errors.New("vcjwt: algorithm not accepted")
	ErrHeader     = errors.New("vcjwt: unacceptable JOSE header")
	ErrKey        = errors.New("vcjwt: unusable key")
	ErrSignature  = errors.New("vcjwt: signature verification failed")
	ErrClaims     = errors.New("vcjwt: JWT claims do not match the credential")
	ErrCredential = errors.New("vcjwt: credential cannot be signed")
)

// SignOptions selects the algorithm and the way the verifier finds the key.
type SignOptions struct {
	// Alg is ES256 (P-256 key, the default), EdDSA (Ed25519 key) or RS256
	// (RSA key of at least 2048 bits). The 1EdTech validator only accepts
	// RS256 and ES256, so EdDSA tokens fail there.
	Alg jose.SignatureAlgorithm
	// KeyID is put in the `kid` header: an absolute URL (or DID URL) that
	// dereferences to the public JWK.
	KeyID string
	// EmbedJWK puts the public key in the `jwk` header instead. Exactly one
	// of KeyID and EmbedJWK must be set.
	EmbedJWK bool
}

// Sign secures an OB 3.0 credential (VCDM 2.0 JSON) as a VC-JWT.
//
// The header is {"alg", "kid" | "jwk", "typ":"JWT"} and nothing else, since
// OB forbids additional headers. The payload is the credential's members,
// with their values kept token for token (only insignificant whitespace is
// dropped), followed by iss = issuer id, jti = id, nbf = validFrom,
// sub = credentialSubject.id (when the subject has an id) and
// exp = validUntil (when present). An embedded Data Integrity proof, if any,
// must already be in the credential.
//
// key may be any crypto.Signer (an HSM or KMS handle included); only its
// public half is ever written to the token.
func Sign(credential []byte, key crypto.Signer, opts SignOptions) (string, error) {
	if key == nil {
		return "", errors.New("vcjwt: sign: nil key")
	}
	alg := opts.Alg
	if alg == "" {
		alg = jose.ES256
	}
	pub := key.Public()
	sigLen, err := signingKeySize(alg, pub)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	header, err := signingHeader(alg, pub, opts)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	enc := base64.RawURLEncoding
	if enc.EncodedLen(len(credential)) > MaxTokenSize {
		return "", fmt.Errorf("%w: credential of %d bytes exceeds the %d-byte token limit", ErrTooLarge, len(credential), MaxTokenSize)
	}
	payload, err := credentialPayload(credential)
	if err != nil {
		return "", err
	}

	n := enc.EncodedLen(len(header)) + 1 + enc.EncodedLen(len(payload)) + 1 + enc.EncodedLen(sigLen)
	if n > MaxTokenSize {
		return "", fmt.Errorf("%w: token would be %d bytes, limit %d", ErrTooLarge, n, MaxTokenSize)
	}
	tok := make([]byte, 0, n)
	tok = enc.AppendEncode(tok, header)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, payload)
	sig, err := signInput(key, alg, tok, sigLen)
	if err != nil {
		return "", fmt.Errorf("vcjwt: sign: %w", err)
	}
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, sig)
	return string(tok), nil
}

// signingKeySize checks that the key fits the algorithm, so a misconfigured
// issuer fails here rather than producing tokens no verifier accepts, and
// returns the signature length.
func signingKeySize(alg jose.SignatureAlgorithm, pub crypto.PublicKey) (int, error) {
	switch alg {
	case jose.ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return 0, fmt.Errorf("%w: ES256 needs a P-256 ECDSA key, got %s", ErrKey, describeKey(pub))
		}
		return 64, nil
	case jose.EdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return 0, fmt.Errorf("%w: EdDSA needs an Ed25519 key, got %s", ErrKey, describeKey(pub))
		}
		return ed25519.SignatureSize, nil
	case jose.RS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k.N == nil || k.N.BitLen() < minRSABits {
			return 0, fmt.Errorf("%w: RS256 needs an RSA key of at least %d bits, got %s", ErrKey, minRSABits, describeKey(pub))
		}
		return k.Size(), nil
	default:
		return 0, fmt.Errorf("%w: cannot sign with %q (use ES256, EdDSA or RS256)", ErrAlgorithm, alg)
	}
}

// minRSABits follows RFC 7518 §3.3: RSA keys for RS256 MUST be ≥ 2048 bits.
const minRSABits = 2048

func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return "an ECDSA key without a curve"
		}
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case *rsa.PublicKey:
		if k.N == nil {
			return "an empty RSA key"
		}
		return "a " + strconv.Itoa(k.N.BitLen()) + "-bit RSA key"
	case ed25519.PublicKey:
		return "an Ed25519 key"
	case nil:
		return "no key"
	default:
		return fmt.Sprintf("a %T", pub)
	}
}

func signingHeader(alg jose.SignatureAlgorithm, pub crypto.PublicKey, opts SignOptions) ([]byte, error) {
	switch {
	case opts.KeyID != "" && opts.EmbedJWK:
		return nil, errors.New("set either KeyID or EmbedJWK, not both")
	case opts.KeyID == "" && !opts.EmbedJWK:
		return nil, errors.New("OB 3.0 requires a kid or jwk header: set KeyID or EmbedJWK")
	}
	h := make([]byte, 0, 256)
	h = append(h, `{"alg":"`...)
	h = append(h, alg...)
	h = append(h, '"')
	if opts.KeyID != "" {
		// The verifier dereferences kid, so a relative reference would
		// depend on a base it does not know.
		u, err := url.Parse(opts.KeyID)
		if err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("kid %q is not an absolute URL", opts.KeyID)
		}
		h = append(h, `,"kid":`...)
		h = appendJSONString(h, opts.KeyID)
	} else {
		h = append(h, `,"jwk":`...)
		var err error
		if h, err = appendPublicJWK(h, pub); err != nil {
			return nil, err
		}
	}
	return append(h, `,"typ":"JWT"}`...), nil
}

func appendJSONString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\'
	}
	if plain { // the usual URL: no encoder needed
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false) // URLs with '&' stay readable; both forms are valid JSON
	_ = e.Encode(s)        // a string always encodes
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// appendPublicJWK writes the public JWK by hand: it can only ever contain
// public parameters, whatever the signer holds.
func appendPublicJWK(dst []byte, pub crypto.PublicKey) ([]byte, error) {
	enc := base64.RawURLEncoding
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		pt, err := k.Bytes() // 0x04 ‖ X ‖ Y
		if err != nil {
			return nil, fmt.Errorf("encoding public key: %w", err)
		}
		size := (len(pt) - 1) / 2
		dst = append(dst, `{"kty":"EC","crv":"`...)
		dst = append(dst, k.Curve.Params().Name...)
		dst = append(dst, `","x":"`...)
		dst = enc.AppendEncode(dst, pt[1:1+size])
		dst = append(dst, `","y":"`...)
		dst = enc.AppendEncode(dst, pt[1+size:])
		return append(dst, `"}`...), nil
	case ed25519.PublicKey:
		dst = append(dst, `{"kty":"OKP","crv":"Ed25519","x":"`...)
		dst = enc.AppendEncode(dst, k)
		return append(dst, `"}`...), nil
	case *rsa.PublicKey:
		dst = append(dst, `{"kty":"RSA","n":"`...)
		dst = enc.AppendEncode(dst, k.N.Bytes())
		dst = append(dst, `","e":"`...)
		dst = enc.AppendEncode(dst, big.NewInt(int64(k.E)).Bytes())
		return append(dst, `"}`...), nil
	default:
		return nil, fmt.Errorf("cannot encode %s as a JWK", describeKey(pub))
	}
}

// signInput signs the JWS signing input and returns the JWS signature bytes.
func signInput(key crypto.Signer, alg jose.SignatureAlgorithm, input []byte, sigLen int) ([]byte, error) {
	var sig []byte
	var err error
	switch alg {
	case jose.EdDSA:
		sig, err = key.Sign(rand.Reader, input, crypto.Hash(0))
	case jose.ES256, jose.RS256:
		digest := sha256.Sum256(input)
		sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err == nil && alg == jose.ES256 {
			// crypto.Signer returns ASN.1 DER; JWS wants R ‖ S.
			sig, err = ecdsaJOSESignature(sig, sigLen/2)
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if len(sig) != sigLen {
		return nil, fmt.Errorf("signer returned a %d-byte signature, want %d", len(sig), sigLen)
	}
	return sig, nil
}

func ecdsaJOSESignature(der []byte, size int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("signer returned a malformed ECDSA signature")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*size || rs.S.BitLen() > 8*size {
		return nil, errors.New("signer returned an out-of-range ECDSA signature")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// credentialPayload builds the JWT payload from the credential without
// decoding it into maps: compact it (which also validates it), index the
// top-level members, and append the claims before the closing brace. The
// claim values reuse the credential's own JSON strings.
func credentialPayload(credential []byte) ([]byte, error) {
	compact, err := compactJSON(make([]byte, 0, len(credential)+256), credential)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	members, err := objectMembers(compact)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	for _, m := range members {
		switch m.key {
		case "iss", "jti", "nbf", "sub", "exp":
			// A second member of the same name would make the payload
			// ambiguous.
			return nil, fmt.Errorf("%w: it already has a top-level %q member, which would clash with the JWT claim", ErrCredential, m.key)
		case "vc":
			// Verifiers read a `vc` claim as the VCDM 1.1 shape.
			return nil, fmt.Errorf("%w: a top-level \"vc\" member makes the token ambiguous", ErrCredential)
		}
	}
	f, err := readCredential(members)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	switch {
	case f.issuerID == nil:
		return nil, fmt.Errorf("%w: no issuer (needed for iss)", ErrCredential)
	case f.id == nil:
		return nil, fmt.Errorf("%w: no id (needed for jti)", ErrCredential)
	case f.validFrom == nil:
		return nil, fmt.Errorf("%w: no validFrom (needed for nbf)", ErrCredential)
	}
	if len(f.issuerID) <= 2 || len(f.id) <= 2 { // the JSON string ""
		return nil, fmt.Errorf("%w: empty issuer id or credential id", ErrCredential)
	}
	from, err := parseDate("validFrom", f.validFrom)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredential, err)
	}
	var until time.Time
	if f.validUntil != nil {
		if until, err = parseDate("validUntil", f.validUntil); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCredential, err)
		}
		if until.Before(from) {
			return nil, fmt.Errorf("%w: validUntil is before validFrom", ErrCredential)
		}
	}

	p := compact[:len(compact)-1] // drop the closing '}' (objectMembers checked it is there)
	if len(members) > 0 {
		p = append(p, ',')
	}
	p = append(p, `"iss":`...)
	p = append(p, f.issuerID...)
	p = append(p, `,"jti":`...)
	p = append(p, f.id...)
	p = append(p, `,"nbf":`...)
	p = strconv.AppendInt(p, from.Unix(), 10)
	if f.subjectID != nil {
		p = append(p, `,"sub":`...)
		p = append(p, f.subjectID...)
	}
	if f.validUntil != nil {
		p = append(p, `,"exp":`...)
		p = strconv.AppendInt(p, until.Unix(), 10)
	}
	return append(p, '}'), nil
}

// parseDate parses a VCDM date-time (an XSD dateTimeStamp, which is RFC 3339
// with a mandatory offset) from its raw JSON string.
func parseDate(name string, raw []byte) (time.Time, error) {
	s, err := unquote(raw)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 date-time with offset", name, s)
	}
	if u := t.Unix(); u < minNumericDate || u > maxNumericDate {
		return time.Time{}, fmt.Errorf("%s %q is outside years 0000-9999 in UTC", name, s)
	}
	return t, nil
}
