package vcjwt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	extractedDir   = "../../testdata/examples/1edtech-validator-ob30/extracted"
	unsignedVector = "../../testdata/vectors/ob3-impl-guide/unsigned-credential.json"
	testKID        = "https://example.edu/issuers/565049/keys/1"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func officialTokens(t testing.TB) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(extractedDir, "*.jws"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("want the 3 extracted validator tokens, found %d", len(paths))
	}
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		out[filepath.Base(p)] = string(readFile(t, p))
	}
	return out
}

// staticResolver returns key for kid and refuses everything else, like a
// resolver backed by the issuer's published JWKS.
func staticResolver(kid string, key crypto.PublicKey) KeyResolver {
	return KeyResolverFunc(func(_ context.Context, k string, _ *jose.JSONWebKey) (crypto.PublicKey, error) {
		if k != kid {
			return nil, errors.New("unknown kid " + k)
		}
		return key, nil
	})
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var b64 = base64.RawURLEncoding

// es256Token builds a token from arbitrary header and payload JSON, signed
// independently of Sign, so verifier tests do not depend on the signer.
func es256Token(t testing.TB, header, payload string, key *ecdsa.PrivateKey) string {
	t.Helper()
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

// obPayload is a minimal OB-shape payload whose claims match.
const obPayload = `{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"],` +
	`"issuer":{"id":"https://example.edu/issuers/1","type":["Profile"]},"validFrom":"2010-01-01T00:00:00Z","validUntil":"2030-01-01T00:00:00Z",` +
	`"credentialSubject":{"id":"did:example:alice","type":["AchievementSubject"]},` +
	`"iss":"https://example.edu/issuers/1","jti":"urn:uuid:1","sub":"did:example:alice","nbf":1262304000,"exp":1893456000}`

const kidHeader = `{"alg":"ES256","typ":"JWT","kid":"` + testKID + `"}`

func TestVerifyOfficialTokens(t *testing.T) {
	for name, tok := range officialTokens(t) {
		t.Run(name, func(t *testing.T) {
			res, err := Verify(context.Background(), tok, EmbeddedKeyResolver{}, nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Alg != "RS256" || res.KeyID != "" {
				t.Errorf("alg %q kid %q, want RS256 and no kid", res.Alg, res.KeyID)
			}
			if _, ok := res.Key.(*rsa.PublicKey); !ok {
				t.Errorf("key is %T", res.Key)
			}
			wantLegacy := strings.Contains(name, "_v1")
			if res.Legacy != wantLegacy {
				t.Errorf("Legacy = %v, want %v", res.Legacy, wantLegacy)
			}
			var cred map[string]any
			if err := json.Unmarshal(res.Credential, &cred); err != nil {
				t.Fatalf("credential: %v", err)
			}
			for _, claim := range []string{"iss", "jti", "nbf", "iat", "aud"} {
				if _, ok := cred[claim]; ok {
					t.Errorf("credential still has the %q claim", claim)
				}
			}
			if types, _ := cred["type"].([]any); len(types) != 2 || types[1] != "OpenBadgeCredential" {
				t.Errorf("credential type = %v", cred["type"])
			}
			if res.NotBefore == nil || !res.NotBefore.Equal(time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("NotBefore = %v", res.NotBefore)
			}
			if res.IssuedAt == nil || res.IssuedAt.Year() != 2024 || res.Expiry != nil {
				t.Errorf("IssuedAt = %v, Expiry = %v", res.IssuedAt, res.Expiry)
			}
		})
	}
}

func TestVerifyOfficialTokensNeedRS256(t *testing.T) {
	for name, tok := range officialTokens(t) {
		_, err := Verify(context.Background(), tok, EmbeddedKeyResolver{}, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
		if !errors.Is(err, ErrAlgorithm) {
			t.Errorf("%s without RS256 allowed: err = %v, want ErrAlgorithm", name, err)
		}
	}
}

func TestVerifyTampered(t *testing.T) {
	tok := officialTokens(t)["simple-jwt.png.jws"]
	parts := strings.Split(strings.TrimSpace(tok), ".")
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(payload, []byte("Teamwork Badge"), []byte("Teamwork Badgf"), 1)
	if bytes.Equal(forged, payload) {
		t.Fatal("test payload lacks the expected name")
	}
	sig, _ := b64.DecodeString(parts[2])
	sig[10] ^= 1
	cases := map[string]string{
		"payload":   parts[0] + "." + b64.EncodeToString(forged) + "." + parts[2],
		"signature": parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig),
	}
	for name, bad := range cases {
		if _, err := Verify(context.Background(), bad, EmbeddedKeyResolver{}, nil); !errors.Is(err, ErrSignature) {
			t.Errorf("tampered %s: err = %v, want ErrSignature", name, err)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	cred := readFile(t, unsignedVector)
	ec, ed := newP256(t), newEd25519(t)
	for _, tc := range []struct {
		alg   jose.SignatureAlgorithm
		key   crypto.Signer
		embed bool
	}{
		{jose.ES256, ec, false}, {jose.ES256, ec, true},
		{jose.EdDSA, ed, false}, {jose.EdDSA, ed, true},
		{"", ec, false}, // ES256 is the default
	} {
		name := string(tc.alg) + map[bool]string{false: "/kid", true: "/jwk"}[tc.embed]
		t.Run(name, func(t *testing.T) {
			opts := SignOptions{Alg: tc.alg, EmbedJWK: tc.embed}
			resolver := EmbeddedKeyResolver{}.ResolveJWTKey
			if !tc.embed {
				opts.KeyID = testKID
				resolver = staticResolver(testKID, tc.key.Public()).ResolveJWTKey
			}
			tok, err := Sign(cred, tc.key, opts)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			wantAlg := tc.alg
			if wantAlg == "" {
				wantAlg = jose.ES256
			}

			header, payload, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			wantHeader := []string{"alg", "kid", "typ"}
			if tc.embed {
				wantHeader[1] = "jwk"
			}
			if len(header) != 3 || header["alg"] != string(wantAlg) || header["typ"] != "JWT" || header[wantHeader[1]] == nil {
				t.Errorf("header = %v, want exactly %v with alg %s and typ JWT", header, wantHeader, wantAlg)
			}
			if jwk, ok := header["jwk"].(map[string]any); ok {
				if _, priv := jwk["d"]; priv {
					t.Fatal("embedded jwk leaks the private key")
				}
			}
			assertPayload(t, cred, payload, map[string]any{
				"iss": "https://example.edu/issuers/565049",
				"jti": "http://example.com/credentials/3527",
				"sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
				"nbf": 1262304000.0,
			})

			res, err := Verify(context.Background(), tok, KeyResolverFunc(resolver), nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Legacy || res.Alg != string(wantAlg) || res.KeyID != opts.KeyID {
				t.Errorf("result alg %q kid %q legacy %v", res.Alg, res.KeyID, res.Legacy)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, cred); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Credential, compact.Bytes()) {
				t.Errorf("verified credential differs from the signed one:\n got %s\nwant %s", res.Credential, compact.Bytes())
			}

			// go-jose independently agrees the token is valid.
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{wantAlg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify(tc.key.Public()); err != nil {
				t.Errorf("go-jose rejects the token: %v", err)
			}
		})
	}
}

// assertPayload checks that every credential member is in the payload with
// the same value bytes (whitespace aside) and in the same order, followed by
// exactly the expected claims.
func assertPayload(t *testing.T, cred, payload []byte, claims map[string]any) {
	t.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, cred); err != nil {
		t.Fatal(err)
	}
	credMembers, err := objectMembers(compact.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := objectMembers(payload)
	if err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	if len(got) != len(credMembers)+len(claims) {
		t.Fatalf("payload has %d members, want %d credential members + %d claims: %s", len(got), len(credMembers), len(claims), payload)
	}
	for i, m := range credMembers {
		if got[i].key != m.key || !bytes.Equal(got[i].raw, m.raw) {
			t.Errorf("member %d: got %s=%s, want %s=%s", i, got[i].key, got[i].raw, m.key, m.raw)
		}
	}
	for _, c := range got[len(credMembers):] {
		want, ok := claims[c.key]
		if !ok {
			t.Errorf("unexpected claim %s", c.key)
			continue
		}
		var v any
		if err := json.Unmarshal(c.raw, &v); err != nil || v != want {
			t.Errorf("claim %s = %s, want %v", c.key, c.raw, want)
		}
	}
}

func TestSignPayloadShapes(t *testing.T) {
	key := newP256(t)
	opts := SignOptions{KeyID: testKID}
	for _, tc := range []struct {
		name, cred string
		claims     map[string]any
	}{
		{
			name: "string issuer, subject without id, validUntil",
			cred: `{"id":"urn:uuid:2","issuer":"did:web:example.edu","validFrom":"2024-05-01T10:00:00.9+02:00","validUntil":"2025-05-01T08:00:00Z","credentialSubject":{"type":["AchievementSubject"]}}`,
			claims: map[string]any{"iss": "did:web:example.edu", "jti": "urn:uuid:2",
				"nbf": float64(time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).Unix()),
				"exp": float64(time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC).Unix())},
		},
		{
			name: "values kept as written",
			cred: "{\n  \"name\": \"caf\\u00e9 \\u003cb\\u003e \\/\",\n  \"n\": 1.50e2,\n  \"id\":\"urn:uuid:3\",\"issuer\":{\"id\":\"https:\\/\\/example.edu\"},\"validFrom\":\"2024-01-01T00:00:00Z\",\"credentialSubject\":[{\"id\":\"did:example:bob\"}]}\n",
			claims: map[string]any{"iss": "https://example.edu", "jti": "urn:uuid:3", "sub": "did:example:bob",
				"nbf": float64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix())},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Sign([]byte(tc.cred), key, opts)
			if err != nil {
				t.Fatal(err)
			}
			_, payload, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			assertPayload(t, []byte(tc.cred), payload, tc.claims)
			if _, err := Verify(context.Background(), tok, staticResolver(testKID, key.Public()), nil); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	ec, ed := newP256(t), newEd25519(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","credentialSubject":{}}`
	kid := SignOptions{KeyID: testKID}
	for _, tc := range []struct {
		name, cred string
		key        crypto.Signer
		opts       SignOptions
		want       error
		msg        string
	}{
		{"EdDSA alg with P-256 key", good, ec, SignOptions{Alg: jose.EdDSA, KeyID: testKID}, ErrKey, "Ed25519"},
		{"ES256 with Ed25519 key", good, ed, kid, ErrKey, "P-256"},
		{"ES256 with P-384 key", good, p384, kid, ErrKey, "P-384"},
		{"HS256", good, ec, SignOptions{Alg: jose.HS256, KeyID: testKID}, ErrAlgorithm, "HS256"},
		{"kid and jwk", good, ec, SignOptions{KeyID: testKID, EmbedJWK: true}, nil, "not both"},
		{"neither kid nor jwk", good, ec, SignOptions{}, nil, "kid or jwk"},
		{"relative kid", good, ec, SignOptions{KeyID: "#key-1"}, nil, "absolute"},
		{"not JSON", `{"id":`, ec, kid, ErrCredential, "JSON"},
		{"array", `[1]`, ec, kid, ErrCredential, "object"},
		{"no issuer", `{"id":"urn:uuid:1","validFrom":"2024-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "issuer"},
		{"issuer without id", `{"id":"urn:uuid:1","issuer":{"name":"x"},"validFrom":"2024-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "issuer has no id"},
		{"no id", `{"issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "jti"},
		{"no validFrom", `{"id":"urn:uuid:1","issuer":"https://example.edu","issuanceDate":"2024-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "validFrom"},
		{"bad validFrom", `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01"}`, ec, kid, ErrCredential, "validFrom"},
		{"validUntil before validFrom", `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","validUntil":"2023-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "validUntil"},
		{"existing iss", `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","iss":"x"}`, ec, kid, ErrCredential, `"iss"`},
		{"vc member", `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","vc":{}}`, ec, kid, ErrCredential, `"vc"`},
		{"duplicate member", `{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","issuer":"https://evil.example"}`, ec, kid, ErrCredential, "duplicate"},
		{"numeric id", `{"id":1,"issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z"}`, ec, kid, ErrCredential, "not a string"},
		{"too large", `{"x":"` + strings.Repeat("a", MaxTokenSize) + `"}`, ec, kid, ErrTooLarge, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Sign([]byte(tc.cred), tc.key, tc.opts)
			if err == nil {
				t.Fatalf("Sign succeeded: %s", tok)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.msg)
			}
		})
	}
	if _, err := Sign([]byte(good), nil, kid); err == nil {
		t.Error("nil key accepted")
	}
}

func TestSignRS256(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cred := readFile(t, unsignedVector)
	tok, err := Sign(cred, key, SignOptions{Alg: jose.RS256, EmbedJWK: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), tok, EmbeddedKeyResolver{}, []jose.SignatureAlgorithm{jose.RS256}); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefusesNone(t *testing.T) {
	key := newP256(t)
	jwk, err := json.Marshal(jose.JSONWebKey{Key: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"none", "None"} {
		header := `{"alg":"` + alg + `","typ":"JWT","jwk":` + string(jwk) + `}`
		tok := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(obPayload)) + "."
		_, err := Verify(context.Background(), tok, EmbeddedKeyResolver{}, nil)
		if !errors.Is(err, ErrAlgorithm) || !strings.Contains(err.Error(), "unsecured") {
			t.Errorf("alg %s: err = %v, want an unsecured-JWT ErrAlgorithm", alg, err)
		}
	}
}

// TestVerifyRefusesHMACKeyConfusion forges the classic attack: an HS256 token
// whose HMAC secret is the issuer's public key, which a verifier that lets
// the token pick the algorithm would accept.
func TestVerifyRefusesHMACKeyConfusion(t *testing.T) {
	key := newP256(t)
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	header := `{"alg":"HS256","typ":"JWT","kid":"` + testKID + `"}`
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(obPayload))
	mac := hmac.New(sha256.New, spki)
	mac.Write([]byte(input))
	tok := input + "." + b64.EncodeToString(mac.Sum(nil))

	// The token really is a valid HS256 token under that secret.
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(spki); err != nil {
		t.Fatalf("forged token does not verify as HS256: %v", err)
	}

	resolvers := map[string]KeyResolver{
		"honest resolver": staticResolver(testKID, key.Public()),
		"naive resolver returning key bytes": KeyResolverFunc(func(context.Context, string, *jose.JSONWebKey) (crypto.PublicKey, error) {
			return spki, nil
		}),
	}
	for name, r := range resolvers {
		for _, allowed := range [][]jose.SignatureAlgorithm{nil, {jose.ES256, jose.HS256}} {
			_, err := Verify(context.Background(), tok, r, allowed)
			if !errors.Is(err, ErrAlgorithm) || !strings.Contains(err.Error(), "HS256") {
				t.Errorf("%s, allowed %v: err = %v, want ErrAlgorithm naming HS256", name, allowed, err)
			}
		}
	}
}

func TestVerifyRefusesMismatchedKeys(t *testing.T) {
	ec := newP256(t)
	cred := readFile(t, unsignedVector)
	tok, err := Sign(cred, ec, SignOptions{KeyID: testKID})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, key := range map[string]crypto.PublicKey{
		"Ed25519 key":        newEd25519(t).Public(),
		"RSA key":            &rsaKey.PublicKey,
		"P-384 key":          &p384.PublicKey,
		"private key":        ec,
		"HMAC secret":        []byte("secret"),
		"private JWK":        &jose.JSONWebKey{Key: ec},
		"nil":                nil,
		"other P-256 key":    &newP256(t).PublicKey,
		"unknown key struct": struct{}{},
	} {
		_, err := Verify(context.Background(), tok, staticResolver(testKID, key), nil)
		want := ErrKey
		if name == "other P-256 key" {
			want = ErrSignature
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	// The same key wrapped in a public JWK is fine.
	if _, err := Verify(context.Background(), tok, staticResolver(testKID, &jose.JSONWebKey{Key: ec.Public()}), nil); err != nil {
		t.Errorf("public JWK: %v", err)
	}
	// A resolver error is reported with the kid.
	_, err = Verify(context.Background(), tok, staticResolver("https://other.example/k", ec.Public()), nil)
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), testKID) {
		t.Errorf("unknown kid: err = %v", err)
	}
}

func TestVerifyRefusesPrivateEmbeddedJWK(t *testing.T) {
	key := newP256(t)
	priv, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(priv, []byte(`"d":`)) {
		t.Fatalf("test JWK has no d: %s", priv)
	}
	tok := es256Token(t, `{"alg":"ES256","typ":"JWT","jwk":`+string(priv)+`}`, obPayload, key)
	_, err = Verify(context.Background(), tok, EmbeddedKeyResolver{}, nil)
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "private") {
		t.Errorf("err = %v, want ErrKey about private material", err)
	}
}

func TestVerifyHeaders(t *testing.T) {
	key := newP256(t)
	r := staticResolver(testKID, key.Public())
	for _, tc := range []struct {
		name, header string
		want         error
	}{
		{"typ JWT", kidHeader, nil},
		{"no typ", `{"alg":"ES256","kid":"` + testKID + `"}`, nil},
		{"typ vc+jwt", `{"alg":"ES256","typ":"vc+jwt","cty":"vc","kid":"` + testKID + `"}`, nil},
		{"typ application/jwt", `{"alg":"ES256","typ":"application/jwt","kid":"` + testKID + `"}`, nil},
		// OB forbids extra headers to issuers; a verifier has no reason to care.
		{"extra header", `{"alg":"ES256","typ":"JWT","kid":"` + testKID + `","x5u":"https://example.edu/cert","foo":1}`, nil},
		{"typ at+jwt", `{"alg":"ES256","typ":"at+jwt","kid":"` + testKID + `"}`, ErrHeader},
		{"typ not a string", `{"alg":"ES256","typ":1,"kid":"` + testKID + `"}`, ErrHeader},
		{"cty JWT", `{"alg":"ES256","typ":"JWT","cty":"JWT","kid":"` + testKID + `"}`, ErrHeader},
		{"crit b64", `{"alg":"ES256","typ":"JWT","kid":"` + testKID + `","b64":false,"crit":["b64"]}`, ErrHeader},
		{"crit unknown", `{"alg":"ES256","typ":"JWT","kid":"` + testKID + `","x":1,"crit":["x"]}`, ErrHeader},
		{"no kid or jwk", `{"alg":"ES256","typ":"JWT"}`, ErrHeader},
		{"empty kid", `{"alg":"ES256","typ":"JWT","kid":""}`, ErrHeader},
		{"no alg", `{"typ":"JWT","kid":"` + testKID + `"}`, ErrHeader},
		{"alg not allowed", `{"alg":"ES384","typ":"JWT","kid":"` + testKID + `"}`, ErrAlgorithm},
		{"duplicate alg", `{"alg":"ES256","alg":"none","kid":"` + testKID + `"}`, ErrMalformed},
		{"header array", `["ES256"]`, ErrMalformed},
		{"header not JSON", `{alg:ES256}`, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := es256Token(t, tc.header, obPayload, key)
			res, err := Verify(context.Background(), tok, r, nil)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.Header["alg"] != "ES256" {
					t.Errorf("header = %v", res.Header)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	key := newP256(t)
	r := staticResolver(testKID, key.Public())
	replace := func(old, new string) string {
		if !strings.Contains(obPayload, old) {
			t.Fatalf("payload lacks %s", old)
		}
		return strings.Replace(obPayload, old, new, 1)
	}
	for _, tc := range []struct {
		name, payload, claim string // claim: "" means valid
	}{
		{"matching", obPayload, ""},
		{"nbf within 1s", replace(`"nbf":1262304000`, `"nbf":1262304001`), ""},
		{"fractional nbf", replace(`"nbf":1262304000`, `"nbf":1262304000.5`), ""},
		{"no optional claims", replace(`"jti":"urn:uuid:1","sub":"did:example:alice","nbf":1262304000,"exp":1893456000`, `"aud":["x"]`), ""},
		{"iss", replace(`"iss":"https://example.edu/issuers/1"`, `"iss":"https://evil.example"`), "iss"},
		{"missing iss", replace(`"iss":"https://example.edu/issuers/1",`, ``), "iss"},
		{"iss not a string", replace(`"iss":"https://example.edu/issuers/1"`, `"iss":1`), "iss"},
		{"jti", replace(`"jti":"urn:uuid:1"`, `"jti":"urn:uuid:2"`), "jti"},
		{"sub", replace(`"sub":"did:example:alice"`, `"sub":"did:example:mallory"`), "sub"},
		{"nbf", replace(`"nbf":1262304000`, `"nbf":1262304002`), "nbf"},
		{"nbf not a number", replace(`"nbf":1262304000`, `"nbf":"1262304000"`), "nbf"},
		{"nbf out of range", replace(`"nbf":1262304000`, `"nbf":1e300`), "nbf"},
		{"exp", replace(`"exp":1893456000`, `"exp":1893459600`), "exp"},
		{"exp without validUntil", replace(`"validUntil":"2030-01-01T00:00:00Z",`, ``), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := es256Token(t, kidHeader, tc.payload, key)
			res, err := Verify(context.Background(), tok, r, nil)
			if tc.claim == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrClaims) {
				t.Fatalf("err = %v (result %v), want ErrClaims", err, res)
			}
			if !strings.Contains(err.Error(), tc.claim) {
				t.Errorf("err = %v, want it to name %q", err, tc.claim)
			}
		})
	}
}

func TestVerifyPayloadShapes(t *testing.T) {
	key := newP256(t)
	r := staticResolver(testKID, key.Public())
	legacy := `{"vc":{"@context":["https://www.w3.org/2018/credentials/v1"],"id":"urn:uuid:9","issuer":"https://example.edu",` +
		`"issuanceDate":"2010-01-01T00:00:00Z","expirationDate":"2030-01-01T00:00:00Z","credentialSubject":{"id":"did:example:a"}},` +
		`"iss":"https://example.edu","jti":"urn:uuid:9","sub":"did:example:a","nbf":1262304000,"exp":1893456000}`
	res, err := Verify(context.Background(), es256Token(t, kidHeader, legacy, key), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Legacy || !bytes.HasPrefix(res.Credential, []byte(`{"@context":["https://www.w3.org/2018/credentials/v1"]`)) {
		t.Errorf("legacy = %v, credential = %s", res.Legacy, res.Credential)
	}
	if res.Expiry == nil || res.Expiry.Year() != 2030 {
		t.Errorf("Expiry = %v", res.Expiry)
	}
	bad := strings.Replace(legacy, `"nbf":1262304000`, `"nbf":1262307600`, 1)
	if _, err := Verify(context.Background(), es256Token(t, kidHeader, bad, key), r, nil); !errors.Is(err, ErrClaims) || !strings.Contains(err.Error(), "issuanceDate") {
		t.Errorf("legacy nbf mismatch: err = %v", err)
	}

	for name, payload := range map[string]string{
		"not JSON":          `{"iss":`,
		"array":             `["x"]`,
		"duplicate member":  strings.Replace(obPayload, `"jti":"urn:uuid:1"`, `"jti":"urn:uuid:1","iss":"https://evil.example"`, 1),
		"vc and @context":   strings.Replace(legacy, `{"vc":`, `{"@context":[],"vc":`, 1),
		"vc not an object":  `{"vc":"x","iss":"a"}`,
		"issuer not string": strings.Replace(obPayload, `"id":"https://example.edu/issuers/1"`, `"id":7`, 1),
	} {
		if _, err := Verify(context.Background(), es256Token(t, kidHeader, payload, key), r, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tok := strings.TrimSpace(officialTokens(t)["simple-jwt.png.jws"])
	parts := strings.Split(tok, ".")
	for _, tc := range []struct {
		name, token string
		want        error
		msg         string
	}{
		{"empty", "", ErrMalformed, "empty"},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed, "found 2"},
		{"four parts", tok + ".x", ErrMalformed, "found 4"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed, "base64url"},
		{"standard base64", parts[0] + "." + parts[1] + "+." + parts[2], ErrMalformed, "base64url"},
		{"inner newline", parts[0][:10] + "\n" + parts[0][10:] + "." + parts[1] + "." + parts[2], ErrMalformed, "base64url"},
		{"empty header", "." + parts[1] + "." + parts[2], ErrMalformed, "empty header"},
		{"empty payload", parts[0] + ".." + parts[2], ErrMalformed, "empty payload"},
		{"non-canonical base64", parts[0] + "." + "eyJ" + "." + parts[2], ErrMalformed, "base64url"},
		{"JSON serialization", `{"payload":"x","signatures":[]}`, ErrMalformed, "3 dot-separated parts"},
		{"oversized", strings.Repeat("a", MaxTokenSize+1), ErrTooLarge, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse(tc.token)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Parse: err = %v, want %v mentioning %q", err, tc.want, tc.msg)
			}
			if _, err := Verify(context.Background(), tc.token, EmbeddedKeyResolver{}, nil); !errors.Is(err, tc.want) {
				t.Errorf("Verify: err = %v, want %v", err, tc.want)
			}
		})
	}
	// Surrounding whitespace, as in files, is fine.
	if _, _, err := Parse("\n " + tok + "\r\n"); err != nil {
		t.Errorf("surrounding whitespace: %v", err)
	}
}

func TestLooksLikeJWS(t *testing.T) {
	for name, tok := range officialTokens(t) {
		if !LooksLikeJWS([]byte(tok)) {
			t.Errorf("%s not detected", name)
		}
	}
	for _, b := range []string{
		"", "{}", string(readFile(t, unsignedVector)), "a.b.c", "eyJhbGciOiJFUzI1NiJ9",
		b64.EncodeToString([]byte(`{"typ":"JWT"}`)) + ".eyJ9.", // no alg
		"eyJhbGciOiJFUzI1NiJ9.e30.!!",
	} {
		if LooksLikeJWS([]byte(b)) {
			t.Errorf("%.40q detected as a JWS", b)
		}
	}
}

func TestVerifyNilResolverAndBadAllowList(t *testing.T) {
	tok := officialTokens(t)["simple-jwt.png.jws"]
	if _, err := Verify(context.Background(), tok, nil, nil); err == nil {
		t.Error("nil resolver accepted")
	}
	for _, alg := range []jose.SignatureAlgorithm{"none", jose.HS256, "XYZ"} {
		if _, err := Verify(context.Background(), tok, EmbeddedKeyResolver{}, []jose.SignatureAlgorithm{jose.RS256, alg}); !errors.Is(err, ErrAlgorithm) {
			t.Errorf("allow-list with %s: err = %v", alg, err)
		}
	}
}

func TestSignKIDEncoding(t *testing.T) {
	key := newP256(t)
	cred := readFile(t, unsignedVector)
	for _, kid := range []string{"https://example.edu/keys?id=1&v=2", "did:web:exämple.edu#key-1", `urn:x:"q"\`} {
		tok, err := Sign(cred, key, SignOptions{KeyID: kid})
		if err != nil {
			t.Fatalf("%s: %v", kid, err)
		}
		res, err := Verify(context.Background(), tok, staticResolver(kid, key.Public()), nil)
		if err != nil {
			t.Errorf("%s: %v", kid, err)
		} else if res.KeyID != kid {
			t.Errorf("KeyID = %q, want %q", res.KeyID, kid)
		}
	}
}
