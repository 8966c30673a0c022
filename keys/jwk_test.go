package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// RFC 8037 Appendix A.1 (private) and A.2 (public) Ed25519 key.
const (
	rfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	// RFC 8037 Appendix A.3: SHA-256 JWK thumbprint of the key.
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
)

var rfc8037Private = `{"kty":"OKP","crv":"Ed25519","d":"` + rfc8037D + `","x":"` + rfc8037X + `"}`

func b64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonMembers decodes a JSON object into string members.
func jsonMembers(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return m
}

func TestJWKRFC8037(t *testing.T) {
	k, err := ParseJWK([]byte(rfc8037Private))
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg != Ed25519 || k.Private == nil {
		t.Fatalf("got %+v", k)
	}
	if !bytes.Equal(k.Public.(ed25519.PublicKey), b64(t, rfc8037X)) {
		t.Fatal("public key differs from x")
	}
	if !bytes.Equal(k.Private.(ed25519.PrivateKey).Seed(), b64(t, rfc8037D)) {
		t.Fatal("seed differs from d")
	}
	signVerify(t, k)

	// RFC 8037 A.4: the signature of this JWS input is deterministic.
	const input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
	const wantSig = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	sig, err := k.Private.Sign(nil, []byte(input), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(sig); got != wantSig {
		t.Fatalf("signature = %s, want %s", got, wantSig)
	}

	jwk := k.JWK("")
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(tp); got != rfc8037Thumbprint {
		t.Fatalf("thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}

	priv, err := k.MarshalPrivateJWK("k1")
	if err != nil {
		t.Fatal(err)
	}
	m := jsonMembers(t, priv)
	want := map[string]string{"kty": "OKP", "crv": "Ed25519", "d": rfc8037D, "x": rfc8037X, "kid": "k1", "alg": "EdDSA", "use": "sig"}
	if !mapsEqual(m, want) {
		t.Fatalf("private JWK = %s", priv)
	}
	k2, err := ParseJWK(priv)
	if err != nil {
		t.Fatal(err)
	}
	if !equalPublic(k, k2) || !k2.Private.(ed25519.PrivateKey).Equal(k.Private) {
		t.Fatal("private JWK round trip changed the key")
	}

	pub, err := k.MarshalPublicJWK("k1")
	if err != nil {
		t.Fatal(err)
	}
	m = jsonMembers(t, pub)
	delete(want, "d")
	if !mapsEqual(m, want) {
		t.Fatalf("public JWK = %s", pub)
	}
	k3, err := ParseJWK(pub)
	if err != nil {
		t.Fatal(err)
	}
	if k3.Private != nil || !equalPublic(k, k3) {
		t.Fatal("public JWK round trip changed the key")
	}
	// RFC 8037 A.2 public key, as printed there.
	k4, err := ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`))
	if err != nil || !equalPublic(k, k4) {
		t.Fatalf("A.2 public key: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestJWKRoundTripGenerated(t *testing.T) {
	for _, alg := range []Alg{Ed25519, P256} {
		k, err := Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := k.MarshalPrivateJWK("")
		if err != nil {
			t.Fatal(err)
		}
		k2, err := ParseJWK(priv)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if !equalPublic(k, k2) || k2.Private == nil {
			t.Fatalf("%s: round trip changed the key", alg)
		}
		signVerify(t, k2)
		pub, err := k.MarshalPublicJWK("")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(pub, []byte(`"d"`)) {
			t.Fatalf("%s: public JWK contains d: %s", alg, pub)
		}
		if _, err := k.PublicOnly().MarshalPrivateJWK(""); err == nil {
			t.Fatalf("%s: MarshalPrivateJWK of a public-only key succeeded", alg)
		}
	}
}

// P-256 keys from the did:key test vectors (w3c-ccg/did-method-key,
// test-vectors/nist-curves.json).
var p256Vectors = []struct{ did, x, y, d string }{
	{
		did: "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
		x:   "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
		y:   "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
		d:   "gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc",
	},
	{
		did: "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
		x:   "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
		y:   "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
		d:   "YjRs6vNvw4sYrzVVY8ipkEpDAD9PFqw1sUnvPRMA-WI",
	},
}

func ecJWK(x, y, d string) string {
	s := `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"`
	if d != "" {
		s += `,"d":"` + d + `"`
	}
	return s + "}"
}

func TestJWKP256(t *testing.T) {
	for _, v := range p256Vectors {
		k, err := ParseJWK([]byte(ecJWK(v.x, v.y, v.d)))
		if err != nil {
			t.Fatal(err)
		}
		signVerify(t, k)
		priv, err := k.MarshalPrivateJWK("")
		if err != nil {
			t.Fatal(err)
		}
		m := jsonMembers(t, priv)
		if m["x"] != v.x || m["y"] != v.y || m["d"] != v.d || m["kty"] != "EC" || m["crv"] != "P-256" || m["alg"] != "ES256" {
			t.Fatalf("private JWK = %s", priv)
		}
		pub, err := ParseJWK([]byte(ecJWK(v.x, v.y, "")))
		if err != nil {
			t.Fatal(err)
		}
		if pub.Private != nil || !equalPublic(pub, k) {
			t.Fatal("public JWK parsed differently")
		}
		raw, _ := k.Public.(*ecdsa.PublicKey).Bytes()
		if !bytes.Equal(raw[1:33], b64(t, v.x)) || !bytes.Equal(raw[33:], b64(t, v.y)) {
			t.Fatal("point differs from x/y")
		}
	}
}

func TestParseJWKErrors(t *testing.T) {
	v0, v1 := p256Vectors[0], p256Vectors[1]
	otherX := "3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08" // RFC 8037 A.6 (X25519) bytes: a valid 32-byte string, another key
	badY := "A" + v0.y[1:]
	cases := []struct{ name, in, want string }{
		{"empty", ``, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing", rfc8037Private + `x`, "not a JSON object"},
		{"no kty", `{"crv":"Ed25519"}`, `missing "kty"`},
		{"jwks", `{"keys":[` + rfc8037Private + `]}`, "JWK Set"},
		{"kty not string", `{"kty":1}`, `"kty" is not a string`},
		{"oct", `{"kty":"oct","k":"AAAA"}`, "symmetric"},
		{"RSA", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`, "RSA keys are not supported"},
		{"unknown kty", `{"kty":"foo"}`, `key type "foo"`},
		{"X25519", `{"kty":"OKP","crv":"X25519","x":"` + otherX + `"}`, `OKP curve "X25519"`},
		{"P-384", `{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}`, `EC curve "P-384"`},
		{"EC no crv", `{"kty":"EC","x":"AA","y":"AA"}`, `EC curve ""`},
		{"use enc", `{"kty":"OKP","crv":"Ed25519","use":"enc","x":"` + rfc8037X + `"}`, `"use"`},
		{"alg mismatch OKP", `{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"` + rfc8037X + `"}`, `"alg" "ES256"`},
		{"alg mismatch EC", `{"kty":"EC","crv":"P-256","alg":"EdDSA","x":"` + v0.x + `","y":"` + v0.y + `"}`, `"alg" "EdDSA"`},
		{"missing x", `{"kty":"OKP","crv":"Ed25519","d":"` + rfc8037D + `"}`, `missing "x"`},
		{"upper-case X", `{"kty":"OKP","crv":"Ed25519","X":"` + rfc8037X + `"}`, `missing "x"`},
		{"short x", `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, `"x" has 3 bytes`},
		{"x not base64url", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "not base64url"},
		{"short d", `{"kty":"OKP","crv":"Ed25519","d":"AAAA","x":"` + rfc8037X + `"}`, `"d" has 3 bytes`},
		{"OKP d/x mismatch", `{"kty":"OKP","crv":"Ed25519","d":"` + rfc8037D + `","x":"` + otherX + `"}`, `"x" is not the public key of "d"`},
		{"EC missing y", `{"kty":"EC","crv":"P-256","x":"` + v0.x + `"}`, `missing "y"`},
		{"EC off curve", ecJWK(v0.x, badY, ""), "not a point on P-256"},
		{"EC d/xy mismatch", ecJWK(v1.x, v1.y, v0.d), `not the public key of "d"`},
		{"EC zero d", ecJWK(v0.x, v0.y, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), `invalid P-256 "d"`},
		{"EC d ≥ n", ecJWK(v0.x, v0.y, "__________________________________________8"), `invalid P-256 "d"`},
	}
	for _, c := range cases {
		k, err := ParseJWK([]byte(c.in))
		if err == nil {
			t.Errorf("%s: parsed %+v", c.name, k)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "keys: parse JWK: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}
