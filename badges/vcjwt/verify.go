package vcjwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeyResolver finds the public key that verifies a token, from its kid (which
// may need the network; the resolver decides whether that is allowed) or
// from the key embedded in its jwk header (nil when absent).
//
// An embedded key only proves that the token was signed by whoever holds
// it; a resolver that accepts it must tie it to the issuer some other way
// (or the caller must, using Result.Key).
type KeyResolver interface {
	ResolveJWTKey(ctx context.Context, kid string, embedded *jose.JSONWebKey) (crypto.PublicKey, error)
}

// KeyResolverFunc adapts a function to KeyResolver.
type KeyResolverFunc func(ctx context.Context, kid string, embedded *jose.JSONWebKey) (crypto.PublicKey, error)

// ResolveJWTKey calls f.
func (f KeyResolverFunc) ResolveJWTKey(ctx context.Context, kid string, embedded *jose.JSONWebKey) (crypto.PublicKey, error) {
	return f(ctx, kid, embedded)
}

// EmbeddedKeyResolver resolves only keys embedded in the jwk header and never
// dereferences kid: the offline choice, for when key trust is decided
// elsewhere.
type EmbeddedKeyResolver struct{}

// ResolveJWTKey returns the embedded key.
func (EmbeddedKeyResolver) ResolveJWTKey(_ context.Context, kid string, embedded *jose.JSONWebKey) (crypto.PublicKey, error) {
	if embedded == nil {
		return nil, fmt.Errorf("token has no embedded jwk (kid %q is not dereferenced)", kid)
	}
	return embedded.Key, nil
}

// Result is a verified token.
type Result struct {
	// Credential is the credential JSON: the `vc` claim for VCDM 1.1 tokens,
	// otherwise the payload without the JWT registered claims (iss, sub, aud,
	// exp, nbf, iat, jti), so that an embedded Data Integrity proof, which
	// the issuer computed before adding them, still verifies. Member values
	// are the payload's bytes, unchanged.
	Credential []byte
	// Payload is the whole verified JWT payload.
	Payload []byte
	Header  map[string]any
	// Legacy is true when the credential came from a `vc` claim.
	Legacy bool
	Alg    string
	KeyID  string
	// Key is the public key that verified the signature.
	Key crypto.PublicKey

	// NotBefore, Expiry and IssuedAt are the nbf, exp and iat claims (nil
	// when absent). Verify checks them against the credential, not against
	// the clock: that is the caller's job, at the time it chooses.
	NotBefore, Expiry, IssuedAt *time.Time
}

// DefaultAlgorithms are the algorithms Verify accepts when given none: RS256
// is the OB 3.0 minimum (and what the 1EdTech validator produces), ES256 and
// EdDSA are what Sign produces.
func DefaultAlgorithms() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}
}

// Verify checks a VC-JWT and returns the credential it secures.
//
// allowed is the algorithm allow-list (nil means DefaultAlgorithms); "none"
// and the HMAC algorithms are refused even if listed, since a public key
// used as an HMAC secret lets anyone forge tokens. typ must be "JWT",
// "vc+jwt" or absent; any "crit" header is refused, as no extension is
// understood here. The key comes from r and must match alg.
//
// The claims must agree with the credential: iss is required and must equal
// the issuer id; jti, sub, nbf and exp, when present, must equal id,
// credentialSubject.id, validFrom (issuanceDate for VCDM 1.1, within one
// second) and validUntil (expirationDate). Validity in time is not checked.
func Verify(ctx context.Context, token string, r KeyResolver, allowed []jose.SignatureAlgorithm) (*Result, error) {
	if r == nil {
		return nil, errors.New("vcjwt: verify: nil KeyResolver")
	}
	allowed, err := acceptedAlgorithms(allowed)
	if err != nil {
		return nil, err
	}
	p, err := parse(token)
	if err != nil {
		return nil, err
	}
	alg, kid, err := checkHeader(p, allowed)
	if err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(p.token, allowed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrMalformed, len(jws.Signatures))
	}
	key, err := r.ResolveJWTKey(ctx, kid, jws.Signatures[0].Protected.JSONWebKey)
	if err != nil {
		return nil, fmt.Errorf("%w: resolving the key (kid %q): %w", ErrKey, kid, err)
	}
	key, err = keyForAlgorithm(key, alg)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	res, err := checkPayload(payload)
	if err != nil {
		return nil, err
	}
	res.Header = p.header
	res.Alg = string(alg)
	res.KeyID = kid
	res.Key = key
	return res, nil
}

// acceptedAlgorithms validates the caller's allow-list.
func acceptedAlgorithms(allowed []jose.SignatureAlgorithm) ([]jose.SignatureAlgorithm, error) {
	if len(allowed) == 0 {
		return DefaultAlgorithms(), nil
	}
	for _, a := range allowed {
		switch a {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
			jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
		default:
			return nil, fmt.Errorf("%w: %q cannot be allowed (only RSA, ECDSA and EdDSA signatures)", ErrAlgorithm, a)
		}
	}
	return allowed, nil
}

// checkHeader applies the header rules before any key is looked up, so a
// hostile token cannot make the resolver fetch anything.
func checkHeader(p *parsed, allowed []jose.SignatureAlgorithm) (jose.SignatureAlgorithm, string, error) {
	algRaw, ok := p.header["alg"]
	if !ok {
		return "", "", fmt.Errorf("%w: no alg", ErrHeader)
	}
	algName, ok := algRaw.(string)
	if !ok {
		return "", "", fmt.Errorf("%w: alg is not a string", ErrHeader)
	}
	if strings.EqualFold(algName, "none") {
		return "", "", fmt.Errorf("%w: unsecured JWT (alg %q)", ErrAlgorithm, algName)
	}
	if strings.HasPrefix(strings.ToUpper(algName), "HS") {
		return "", "", fmt.Errorf("%w: %q is an HMAC algorithm, never accepted for credentials", ErrAlgorithm, algName)
	}
	alg := jose.SignatureAlgorithm(algName)
	permitted := false
	for _, a := range allowed {
		permitted = permitted || a == alg
	}
	if !permitted {
		return "", "", fmt.Errorf("%w: %q is not in the allow-list %v", ErrAlgorithm, algName, allowed)
	}

	if typ, ok := p.header["typ"]; ok {
		s, isStr := typ.(string)
		// Media type names are case-insensitive, and RFC 7515 §4.1.9 lets
		// the "application/" prefix be omitted.
		t := strings.TrimPrefix(strings.ToLower(s), "application/")
		if !isStr || (t != "jwt" && t != "vc+jwt") {
			return "", "", fmt.Errorf("%w: typ %v (want JWT, vc+jwt or none)", ErrHeader, typ)
		}
	}
	if cty, ok := p.header["cty"]; ok {
		// VC-JOSE-COSE uses cty "vc"; anything else (notably "JWT", a nested
		// token) means the payload is not a credential.
		s, isStr := cty.(string)
		t := strings.TrimPrefix(strings.ToLower(s), "application/")
		if !isStr || (t != "vc" && t != "vc+ld+json") {
			return "", "", fmt.Errorf("%w: cty %v (want vc or none)", ErrHeader, cty)
		}
	}
	if crit, ok := p.header["crit"]; ok {
		// No extension is understood here: b64=false, the usual one, would
		// change what was signed.
		return "", "", fmt.Errorf("%w: critical header extensions %v are not supported", ErrHeader, crit)
	}

	var kid string
	if k, ok := p.header["kid"]; ok {
		if kid, ok = k.(string); !ok || kid == "" {
			return "", "", fmt.Errorf("%w: kid is not a non-empty string", ErrHeader)
		}
	}
	jwk := lookup(p.headerMembers, "jwk")
	if jwk != nil {
		if err := checkEmbeddedJWK(jwk); err != nil {
			return "", "", err
		}
	}
	if kid == "" && jwk == nil {
		return "", "", fmt.Errorf("%w: neither kid nor jwk, so there is no key to verify with", ErrHeader)
	}
	return alg, kid, nil
}

// checkEmbeddedJWK refuses an embedded key that carries secret material
// (RFC 7515 §4.1.3 allows public keys only). go-jose refuses it too; this
// check names the problem and does not depend on that.
func checkEmbeddedJWK(raw []byte) error {
	members, err := objectMembers(raw)
	if err != nil {
		return fmt.Errorf("%w: jwk: %w", ErrHeader, err)
	}
	for _, m := range members {
		switch m.key {
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			return fmt.Errorf("%w: embedded jwk contains private or symmetric key material (%q)", ErrKey, m.key)
		}
	}
	return nil
}

// keyForAlgorithm refuses a key that does not belong to alg. go-jose would
// also fail, but an explicit check keeps algorithm confusion (an RSA key
// offered for an ECDSA token, raw bytes as an HMAC secret) out of reach
// whatever the resolver returns.
func keyForAlgorithm(key crypto.PublicKey, alg jose.SignatureAlgorithm) (crypto.PublicKey, error) {
	switch k := key.(type) {
	case *jose.JSONWebKey:
		if k == nil {
			return nil, fmt.Errorf("%w: resolver returned a nil JWK", ErrKey)
		}
		return keyForAlgorithm(*k, alg)
	case jose.JSONWebKey:
		if !k.IsPublic() {
			return nil, fmt.Errorf("%w: resolver returned a non-public JWK", ErrKey)
		}
		return keyForAlgorithm(k.Key, alg)
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey, []byte, string:
		return nil, fmt.Errorf("%w: resolver returned %T, not a public key", ErrKey, key)
	}
	var ok bool
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		k, isRSA := key.(*rsa.PublicKey)
		ok = isRSA && k != nil && k.N != nil && k.N.BitLen() >= minRSABits
	case jose.ES256, jose.ES384, jose.ES512:
		want := elliptic.P256()
		if alg == jose.ES384 {
			want = elliptic.P384()
		} else if alg == jose.ES512 {
			want = elliptic.P521()
		}
		k, isEC := key.(*ecdsa.PublicKey)
		ok = isEC && k != nil && k.Curve == want
	case jose.EdDSA:
		k, isEd := key.(ed25519.PublicKey)
		ok = isEd && len(k) == ed25519.PublicKeySize
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s cannot verify %s", ErrKey, describeKey(key), alg)
	}
	return key, nil
}

// registeredClaim reports whether name is a JWT registered claim
// (RFC 7519 §4.1): these belong to the token, not to the credential.
func registeredClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

// checkPayload extracts the credential and checks the claims against it.
func checkPayload(payload []byte) (*Result, error) {
	res := &Result{Payload: payload}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("%w: payload is not valid JSON", ErrMalformed)
	}
	members, err := objectMembers(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrMalformed, err)
	}

	var credMembers []member
	if vc := lookup(members, "vc"); vc != nil {
		if lookup(members, "@context") != nil {
			return nil, fmt.Errorf("%w: payload has both a vc claim and a top-level @context", ErrMalformed)
		}
		if credMembers, err = objectMembers(vc); err != nil {
			return nil, fmt.Errorf("%w: vc claim: %w", ErrMalformed, err)
		}
		res.Legacy = true
		res.Credential = vc
	} else {
		credMembers = make([]member, 0, len(members))
		for _, m := range members {
			if !registeredClaim(m.key) {
				credMembers = append(credMembers, m)
			}
		}
		res.Credential = joinMembers(credMembers)
	}

	cred, err := readCredential(credMembers)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := checkClaims(res, members, cred); err != nil {
		return nil, err
	}
	return res, nil
}

// joinMembers serialises members as an object, values unchanged.
func joinMembers(members []member) []byte {
	n := 2
	for _, m := range members {
		n += len(m.rawKey) + len(m.raw) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, m.rawKey...)
		b = append(b, ':')
		b = append(b, m.raw...)
	}
	return append(b, '}')
}

func checkClaims(res *Result, claims []member, cred credentialFields) error {
	from, until := cred.validFrom, cred.validUntil
	fromName, untilName := "validFrom", "validUntil"
	if res.Legacy || (from == nil && cred.issuanceDate != nil) {
		from, until = cred.issuanceDate, cred.expirationDate
		fromName, untilName = "issuanceDate", "expirationDate"
	}

	var sawIss bool
	for _, c := range claims {
		var err error
		switch c.key {
		case "iss":
			sawIss = true
			err = matchString("iss", c.raw, "issuer id", cred.issuerID)
		case "jti":
			if cred.id != nil {
				err = matchString("jti", c.raw, "credential id", cred.id)
			}
		case "sub":
			if cred.subjectID != nil {
				err = matchString("sub", c.raw, "credentialSubject.id", cred.subjectID)
			}
		case "nbf":
			res.NotBefore, err = matchDate("nbf", c.raw, fromName, from)
		case "exp":
			res.Expiry, err = matchDate("exp", c.raw, untilName, until)
		case "iat":
			res.IssuedAt, err = numericDate("iat", c.raw)
		}
		if err != nil {
			return err
		}
	}
	if !sawIss {
		return fmt.Errorf("%w: no iss claim (OB 3.0 requires iss = issuer id)", ErrClaims)
	}
	return nil
}

func matchString(claim string, raw []byte, what string, want []byte) error {
	got, err := unquote(raw)
	if err != nil {
		return fmt.Errorf("%w: %s claim is not a string", ErrClaims, claim)
	}
	if want == nil {
		return fmt.Errorf("%w: %s %q but the credential has no %s", ErrClaims, claim, got, what)
	}
	w, err := unquote(want)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrClaims, what, err)
	}
	if got != w {
		return fmt.Errorf("%w: %s %q does not match %s %q", ErrClaims, claim, got, what, w)
	}
	return nil
}

// matchDate checks a NumericDate claim against a credential date; a claim
// whose date the credential lacks is accepted, since the credential is
// what the verifier checks time against.
func matchDate(claim string, raw []byte, what string, want []byte) (*time.Time, error) {
	t, err := numericDate(claim, raw)
	if err != nil || want == nil {
		return t, err
	}
	w, err := parseDate(what, want)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	// NumericDate has whole seconds in practice while the credential may
	// carry fractions; one second of slack absorbs the truncation.
	if d := t.Sub(w); d > time.Second || d < -time.Second {
		return nil, fmt.Errorf("%w: %s %s does not match %s %s", ErrClaims, claim, t.UTC().Format(time.RFC3339), what, w.UTC().Format(time.RFC3339Nano))
	}
	return t, nil
}

// NumericDates are kept within years 0000–9999 (UTC), where RFC 3339 can
// express them; Sign refuses dates outside that range too.
const (
	minNumericDate = -62167219200 // 0000-01-01T00:00:00Z
	maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z
)

func numericDate(claim string, raw []byte) (*time.Time, error) {
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s claim %s is not a NumericDate", ErrClaims, claim, raw)
	}
	if math.IsNaN(f) || f < minNumericDate || f > maxNumericDate {
		return nil, fmt.Errorf("%w: %s claim %s is out of range", ErrClaims, claim, raw)
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return &t, nil
}
