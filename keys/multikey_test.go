package keys

import (
	"github.com/insigne/insigne/internal/base58"

	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readVector(t *testing.T, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "testdata", "vectors"}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// W3C vc-di-eddsa test vector key pair (testdata/vectors/vc-di-eddsa).
func TestMultikeyW3CVector(t *testing.T) {
	data := readVector(t, "vc-di-eddsa", "keyPair.json")
	var v struct{ PublicKeyMultibase, PrivateKeyMultibase string }
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v.PublicKeyMultibase != "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2" ||
		v.PrivateKeyMultibase != "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq" {
		t.Fatalf("unexpected vector file: %s", data)
	}

	// The public key alone, and the seed alone, decoded independently.
	pub, err := DecodePublicKeyMultibase(v.PublicKeyMultibase)
	if err != nil {
		t.Fatal(err)
	}
	fromSeed, err := ParseMultikey([]byte(`{"secretKeyMultibase":"` + v.PrivateKeyMultibase + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !fromSeed.Public.(ed25519.PublicKey).Equal(pub.Public) {
		t.Fatal("public key derived from the seed does not match publicKeyMultibase")
	}

	for _, parse := range []func([]byte) (*KeyPair, error){ParseMultikey, ParseKeyFile} {
		k, err := parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if k.Alg != Ed25519 || k.Private == nil {
			t.Fatalf("got %+v", k)
		}
		signVerify(t, k)
		if got := k.PublicKeyMultibase(); got != v.PublicKeyMultibase {
			t.Errorf("PublicKeyMultibase = %s, want %s", got, v.PublicKeyMultibase)
		}
		sec, err := k.SecretKeyMultibase()
		if err != nil {
			t.Fatal(err)
		}
		if sec != v.PrivateKeyMultibase {
			t.Errorf("SecretKeyMultibase = %s, want %s", sec, v.PrivateKeyMultibase)
		}
	}
}

// 1EdTech OB 3.0 implementation guide key pair, whose secret key is the
// legacy 64-byte seed ‖ public key form.
func TestMultikeyOB3LegacyVector(t *testing.T) {
	var v struct {
		PublicKeyHex   string `json:"publicKeyHex"`
		PrivateKeyHex  string `json:"privateKeyHex_seed_plus_public_64bytes"`
		PublicKeyMB    string `json:"publicKeyMultibase"`
		LegacySecretMB string `json:"secretKeyMultibase_legacy_64byte"`
	}
	if err := json.Unmarshal(readVector(t, "ob3-impl-guide", "keypair.json"), &v); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(map[string]string{"publicKeyMultibase": v.PublicKeyMB, "secretKeyMultibase": v.LegacySecretMB})
	k, err := ParseKeyFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Public.(ed25519.PublicKey), mustHex(t, v.PublicKeyHex)) {
		t.Fatal("public key differs from publicKeyHex")
	}
	if !bytes.Equal(k.Private.(ed25519.PrivateKey), mustHex(t, v.PrivateKeyHex)) {
		t.Fatal("private key differs from the 64-byte hex")
	}
	signVerify(t, k)
	if got := k.PublicKeyMultibase(); got != v.PublicKeyMB {
		t.Fatalf("PublicKeyMultibase = %s, want %s", got, v.PublicKeyMB)
	}
	// The legacy value is read but the current 32-byte form is written.
	sec, err := k.SecretKeyMultibase()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec, "z3u2") {
		t.Fatalf("SecretKeyMultibase = %s, want the 32-byte z3u2… form", sec)
	}
	k2, err := ParseMultikey([]byte(`{"secretKeyMultibase":"` + sec + `"}`))
	if err != nil || !equalPublic(k, k2) {
		t.Fatalf("re-encoded secret key: %v", err)
	}

	// A legacy value whose public half is not the seed's is refused.
	other, _ := Generate(Ed25519)
	seed := mustHex(t, v.PrivateKeyHex)[:32]
	tampered := multibase(codecEd25519Priv, append(append([]byte(nil), seed...), other.Public.(ed25519.PublicKey)...))
	_, err = ParseMultikey([]byte(`{"secretKeyMultibase":"` + tampered + `"}`))
	if err == nil || !strings.Contains(err.Error(), "does not match its seed") {
		t.Fatalf("tampered legacy secret: err = %v", err)
	}
}

func TestMultikeyRoundTrip(t *testing.T) {
	for _, alg := range []Alg{Ed25519, P256} {
		k, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		mb := k.PublicKeyMultibase()
		wantPrefix := map[Alg]string{Ed25519: "z6Mk", P256: "zDn"}[alg]
		if !strings.HasPrefix(mb, wantPrefix) {
			t.Fatalf("%s: publicKeyMultibase %s does not start with %s", alg, mb, wantPrefix)
		}
		pub, err := DecodePublicKeyMultibase(mb)
		if err != nil {
			t.Fatal(err)
		}
		if pub.Private != nil || !equalPublic(pub, k) || pub.PublicKeyMultibase() != mb {
			t.Fatalf("%s: public round trip changed the key", alg)
		}
		sec, err := k.SecretKeyMultibase()
		if err != nil {
			t.Fatal(err)
		}
		in, _ := json.Marshal(map[string]string{"type": "Multikey", "publicKeyMultibase": mb, "secretKeyMultibase": sec})
		k2, err := ParseKeyFile(in)
		if err != nil {
			t.Fatal(err)
		}
		if !equalPublic(k, k2) || k2.Private == nil {
			t.Fatalf("%s: secret round trip changed the key", alg)
		}
		signVerify(t, k2)
		if sec2, _ := k2.SecretKeyMultibase(); sec2 != sec {
			t.Fatalf("%s: secret key re-encodes differently", alg)
		}
		if _, err := k.PublicOnly().SecretKeyMultibase(); err == nil {
			t.Fatalf("%s: SecretKeyMultibase of a public-only key succeeded", alg)
		}
	}
}

// Both parities of y and a point whose compressed form starts with 0x03
// must survive compression.
func TestP256Compression(t *testing.T) {
	seen := map[byte]bool{}
	for i := 0; i < 64 && len(seen) < 2; i++ {
		k, _ := Generate(P256)
		c, err := compressP256(k.Public.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		seen[c[0]] = true
		pub, err := decompressP256(c)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(k.Public) {
			t.Fatalf("decompress(compress(P)) != P for prefix %#x", c[0])
		}
	}
	if !seen[2] || !seen[3] {
		t.Fatalf("did not see both parities: %v", seen)
	}
}

func TestDecompressP256Rejects(t *testing.T) {
	// Find an x for which x³ − 3x + b has no square root mod p: such an x
	// is not the abscissa of any point.
	params := elliptic.P256().Params()
	var offX []byte
	for i := int64(1); offX == nil; i++ {
		x := big.NewInt(i)
		rhs := new(big.Int).Exp(x, big.NewInt(3), params.P)
		rhs.Sub(rhs, new(big.Int).Mul(big.NewInt(3), x))
		rhs.Add(rhs, params.B)
		rhs.Mod(rhs, params.P)
		if new(big.Int).ModSqrt(rhs, params.P) == nil {
			offX = x.FillBytes(make([]byte, 32))
		}
	}
	pBytes := params.P.FillBytes(make([]byte, 32))
	for name, c := range map[string][]byte{
		"off curve":   append([]byte{2}, offX...),
		"x = p":       append([]byte{3}, pBytes...),
		"all ones":    append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...),
		"prefix 0x04": append([]byte{4}, offX...),
		"prefix 0x00": make([]byte, 33),
		"short":       {2, 1},
	} {
		if _, err := decompressP256(c); err == nil {
			t.Errorf("%s: decompressed", name)
		}
		if len(c) == 33 {
			if _, err := DecodePublicKeyMultibase(multibase(codecP256Pub, c)); err == nil {
				t.Errorf("%s: DecodePublicKeyMultibase succeeded", name)
			}
		}
	}
}

func TestDecodePublicKeyMultibaseErrors(t *testing.T) {
	k, _ := Generate(Ed25519)
	pub := k.Public.(ed25519.PublicKey)
	sec, _ := k.SecretKeyMultibase()
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"z only", "z", "multicodec header"},
		{"base64 prefix", "m7QE", `prefix 'm'`},
		{"bad base58", "z6Mk0OIl", "invalid base58btc character"},
		{"too long", "z" + strings.Repeat("2", 300), "characters long"},
		{"secret key", sec, "secret key, not a public key"},
		{"short Ed25519", multibase(codecEd25519Pub, pub[:31]), "has 31 bytes"},
		{"long Ed25519", multibase(codecEd25519Pub, append(append([]byte(nil), pub...), 0)), "has 33 bytes"},
		{"uncompressed P-256", multibase(codecP256Pub, make([]byte, 65)), "33-byte compressed point"},
		// P-384 did:key test vector: a real key of a curve we do not support.
		{"P-384", "z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9", "P-384 public key is not supported"},
		{"X25519", "z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", "X25519 public key is not supported"},
		{"non-minimal varint", "z" + base58.Encode(append([]byte{0xed, 0x81, 0x00}, pub...)), "not minimally encoded"},
		{"truncated varint", "z" + base58.Encode([]byte{0x80}), "multicodec header"},
	}
	for _, c := range cases {
		_, err := DecodePublicKeyMultibase(c.in)
		if err == nil {
			t.Errorf("%s: decoded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestParseMultikeyErrors(t *testing.T) {
	a, _ := Generate(Ed25519)
	b, _ := Generate(Ed25519)
	p, _ := Generate(P256)
	aSec, _ := a.SecretKeyMultibase()
	bSec, _ := b.SecretKeyMultibase()
	cases := []struct{ name, in, want string }{
		{"empty object", `{}`, "neither publicKeyMultibase nor secretKeyMultibase"},
		{"not object", `"z6Mk"`, "not a JSON object"},
		{"number", `{"publicKeyMultibase":1}`, `"publicKeyMultibase" is not a string`},
		{"mismatch", `{"publicKeyMultibase":"` + b.PublicKeyMultibase() + `","secretKeyMultibase":"` + aSec + `"}`, "is not the public key of secretKeyMultibase"},
		{"alg mismatch", `{"publicKeyMultibase":"` + p.PublicKeyMultibase() + `","secretKeyMultibase":"` + aSec + `"}`, "is not the public key of secretKeyMultibase"},
		{"both secrets differ", `{"secretKeyMultibase":"` + aSec + `","privateKeyMultibase":"` + bSec + `"}`, "both present and differ"},
		{"public as secret", `{"secretKeyMultibase":"` + a.PublicKeyMultibase() + `"}`, "public key, not a secret key"},
		{"bad public", `{"publicKeyMultibase":"zzz","secretKeyMultibase":"` + aSec + `"}`, "publicKeyMultibase:"},
		{"short P-256 secret", `{"secretKeyMultibase":"` + multibase(codecP256Priv, make([]byte, 31)) + `"}`, "has 31 bytes"},
		{"zero P-256 secret", `{"secretKeyMultibase":"` + multibase(codecP256Priv, make([]byte, 32)) + `"}`, "invalid P-256 secret key"},
		{"short Ed25519 secret", `{"secretKeyMultibase":"` + multibase(codecEd25519Priv, make([]byte, 48)) + `"}`, "has 48 bytes"},
	}
	for _, c := range cases {
		_, err := ParseMultikey([]byte(c.in))
		if err == nil {
			t.Errorf("%s: parsed", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "keys: parse Multikey: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
	// privateKeyMultibase alone, and identical duplicates, are fine.
	for _, in := range []string{
		`{"privateKeyMultibase":"` + aSec + `"}`,
		`{"secretKeyMultibase":"` + aSec + `","privateKeyMultibase":"` + aSec + `"}`,
	} {
		k, err := ParseMultikey([]byte(in))
		if err != nil || !equalPublic(k, a) || k.Private == nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	// A public key alone gives a public-only pair.
	k, err := ParseMultikey([]byte(`{"publicKeyMultibase":"` + p.PublicKeyMultibase() + `"}`))
	if err != nil || k.Private != nil || !equalPublic(k, p) {
		t.Errorf("public only: %v", err)
	}
}

func TestParseKeyFile(t *testing.T) {
	k, _ := Generate(P256)
	jwk, _ := k.MarshalPrivateJWK("kid")
	got, err := ParseKeyFile(append(append([]byte("\uFEFF\n  "), jwk...), "\n"...))
	if err != nil || !equalPublic(got, k) || got.Private == nil {
		t.Fatalf("JWK with BOM and whitespace: %v", err)
	}
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty key file"},
		{"spaces", " \n\t", "empty key file"},
		{"PEM", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", "PEM keys are not supported"},
		{"garbage", "hello", "not a JSON object"},
		{"array", `[{"kty":"OKP"}]`, "not a JSON object"},
		{"neither", `{"id":"x"}`, "neither a JWK"},
		{"mixed", `{"kty":"OKP","publicKeyMultibase":"z6Mk"}`, "mixes JWK and Multikey"},
		{"JWK error", `{"kty":"oct","k":"AA"}`, "JWK: symmetric"},
		{"JWKS", `{"keys":[]}`, "JWK Set"},
		{"Multikey error", `{"publicKeyMultibase":"z6Mk"}`, "Multikey: publicKeyMultibase:"},
		{"huge", `{"kty":"` + strings.Repeat("a", maxKeyFileSize) + `"}`, "too large"},
	}
	for _, c := range cases {
		_, err := ParseKeyFile([]byte(c.in))
		if err == nil {
			t.Errorf("%s: parsed", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "keys: parse key file: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}
