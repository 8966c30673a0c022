package interop

// These tests check the harness itself against published vectors, with no
// Insigne code involved: if they pass, a failure reported by the harness on
// Insigne output is Insigne's.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testdata(t *testing.T, rel string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstProof returns the proof object (or the first of a proof set).
func firstProof(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	switch p := doc["proof"].(type) {
	case map[string]any:
		return p
	case []any:
		if len(p) > 0 {
			if m, ok := p[0].(map[string]any); ok {
				return m
			}
		}
	}
	t.Fatalf("no proof in %v", doc)
	return nil
}

const (
	w3cSigned  = "vectors/vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json"
	ob3Signed  = "vectors/ob3-impl-guide/signed-credential.json"
	ob3Unsiged = "vectors/ob3-impl-guide/unsigned-credential.json"
	ob3KeyPair = "vectors/ob3-impl-guide/keypair.json"
	validator  = "examples/1edtech-validator-ob30/"
)

func TestVerifyDIVectors(t *testing.T) {
	r := Node(t)
	for _, tc := range []struct {
		file          string
		noIssuerCheck bool
	}{
		{w3cSigned, true}, // its did:key is not the issuer's
		{ob3Signed, false},
		{validator + "simple.json", false},
		{validator + "simple-context-alias.json", false},
		{validator + "simple-context-version.json", false},
		{validator + "simple-multiple-proofs.json", false},
		{validator + "endorsement-valid.json", false},
		{validator + "simple-did-key-method.json", true}, // bare did:key vm, issuer is a urn:uuid
	} {
		t.Run(tc.file, func(t *testing.T) {
			rr := r
			if tc.noIssuerCheck {
				rr = r.WithoutIssuerCheck()
			}
			if ok, detail := rr.VerifyDI(t, testdata(t, tc.file)); !ok {
				t.Errorf("not verified: %s", detail)
			}
		})
	}
}

func TestVerifyDIIssuerMustBeController(t *testing.T) {
	r := Node(t)
	ok, detail := r.VerifyDI(t, testdata(t, w3cSigned))
	if ok || !strings.Contains(detail, "issuer must match") {
		t.Errorf("W3C vector with issuer check: ok=%v detail=%q; want issuer/controller mismatch", ok, detail)
	}
}

func TestVerifyDIRejects(t *testing.T) {
	r := Node(t)
	mutate := func(file string, f func(doc map[string]any)) []byte {
		doc := decode(t, testdata(t, file))
		f(doc)
		return encode(t, doc)
	}
	for name, tc := range map[string]struct {
		doc  []byte
		want string
	}{
		"ob3 name changed": {mutate(ob3Signed, func(d map[string]any) { d["name"] = "Tampered" }), "Invalid signature"},
		"ob3 proof created changed": {mutate(ob3Signed, func(d map[string]any) {
			firstProof(t, d)["created"] = "2010-01-01T19:23:25Z"
		}), "Invalid signature"},
		"ob3 proofValue changed": {mutate(ob3Signed, func(d map[string]any) {
			p := firstProof(t, d)
			v := p["proofValue"].(string)
			p["proofValue"] = v[:len(v)-1] + map[bool]string{true: "2", false: "3"}[v[len(v)-1] != '2']
		}), "Invalid signature"},
		"ob3 other key in vm": {mutate(ob3Signed, func(d map[string]any) {
			firstProof(t, d)["verificationMethod"] = "https://example.edu/issuers/565049#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
		}), "Invalid signature"},
		"w3c subject changed": {mutate(w3cSigned, func(d map[string]any) {
			d["credentialSubject"].(map[string]any)["alumniOf"] = "Elsewhere"
		}), "Invalid signature"},
		"validator simple.json issuer changed": {mutate(validator+"simple.json", func(d map[string]any) {
			d["issuer"].(map[string]any)["name"] = "Mallory"
		}), "Invalid signature"},
		"no proof":             {testdata(t, validator+"simple-noproof.json"), "no proof"},
		"vm unknown scheme":    {testdata(t, validator+"simple-err-proof-method-unknown-scheme.json"), "refused"},
		"vm unknown did":       {testdata(t, validator+"simple-err-proof-method-unknown-did-method.json"), "refused"},
		"vm bad multibase key": {testdata(t, validator+"simple-err-proof-method.json"), ""},
		"not JSON":             {[]byte("not json"), "unusable input"},
	} {
		t.Run(name, func(t *testing.T) {
			rr := r
			if strings.HasPrefix(name, "w3c") {
				rr = r.WithoutIssuerCheck()
			}
			ok, detail := rr.VerifyDI(t, tc.doc)
			if ok {
				t.Fatal("verified; want failure")
			}
			if !strings.Contains(detail, tc.want) {
				t.Errorf("detail %q; want it to contain %q", detail, tc.want)
			}
		})
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestSignDIReproducesVectors re-signs the unsigned documents with the
// published keys and `created`: Ed25519 is deterministic, so the proof must
// match the published one exactly.
func TestSignDIReproducesVectors(t *testing.T) {
	r := Node(t)

	var kp struct {
		PublicKeyHex  string `json:"publicKeyHex"`
		PrivateKeyHex string `json:"privateKeyHex_seed_plus_public_64bytes"`
		PublicKeyMB   string `json:"publicKeyMultibase"`
		LegacySecret  string `json:"secretKeyMultibase_legacy_64byte"`
		ID            string `json:"id"`
	}
	if err := json.Unmarshal(testdata(t, ob3KeyPair), &kp); err != nil {
		t.Fatal(err)
	}
	pub, _ := hex.DecodeString(kp.PublicKeyHex)
	priv, _ := hex.DecodeString(kp.PrivateKeyHex)
	want := firstProof(t, decode(t, testdata(t, ob3Signed)))
	for name, keyJSON := range map[string][]byte{
		"legacy 64-byte multibase": encode(t, map[string]string{
			"publicKeyMultibase": kp.PublicKeyMB, "secretKeyMultibase": kp.LegacySecret}),
		"private JWK": encode(t, map[string]string{
			"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "d": b64(priv[:32])}),
	} {
		t.Run("ob3/"+name, func(t *testing.T) {
			signed := r.SignDI(t, keyJSON, kp.ID, want["created"].(string), testdata(t, ob3Unsiged))
			got := firstProof(t, decode(t, signed))
			for _, k := range []string{"type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue"} {
				if got[k] != want[k] {
					t.Errorf("proof.%s = %v; want %v", k, got[k], want[k])
				}
			}
			if len(got) != len(want) {
				t.Errorf("proof = %v; want %v", got, want)
			}
			if ok, detail := r.VerifyDI(t, signed); !ok {
				t.Errorf("re-signed credential does not verify: %s", detail)
			}
		})
	}

	t.Run("w3c", func(t *testing.T) {
		want := firstProof(t, decode(t, testdata(t, w3cSigned)))
		signed := r.SignDI(t, testdata(t, "vectors/vc-di-eddsa/keyPair.json"),
			want["verificationMethod"].(string), want["created"].(string),
			testdata(t, "vectors/vc-di-eddsa/unsigned.json"))
		got := firstProof(t, decode(t, signed))
		published := strings.TrimSpace(string(testdata(t, "vectors/vc-di-eddsa/eddsa-rdfc-2022/sigBTC58DataInt.txt")))
		if got["proofValue"] != published || got["proofValue"] != want["proofValue"] {
			t.Errorf("proofValue = %v; want %v", got["proofValue"], published)
		}
	})
}

// TestSignDIDidKeyRoundTrip signs without --created and verifies with the
// issuer check (issuer = did:key controller).
func TestSignDIDidKeyRoundTrip(t *testing.T) {
	r := Node(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := encode(t, map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub), "d": b64(priv.Seed())})
	// did:key needs the multibase key; take it from the vector whose key
	// we know, instead of re-implementing base58 here.
	var kp struct {
		PublicKeyMB  string `json:"publicKeyMultibase"`
		LegacySecret string `json:"secretKeyMultibase_legacy_64byte"`
	}
	json.Unmarshal(testdata(t, ob3KeyPair), &kp)
	did := "did:key:" + kp.PublicKeyMB
	doc := decode(t, testdata(t, ob3Unsiged))
	doc["issuer"].(map[string]any)["id"] = did
	before := time.Now().UTC().Truncate(time.Second)
	signed := r.SignDI(t, encode(t, map[string]string{
		"publicKeyMultibase": kp.PublicKeyMB, "secretKeyMultibase": kp.LegacySecret}),
		did+"#"+kp.PublicKeyMB, "", encode(t, doc))
	created, err := time.Parse(time.RFC3339, firstProof(t, decode(t, signed))["created"].(string))
	if err != nil || created.Before(before) || created.After(time.Now().Add(time.Second)) {
		t.Errorf("proof.created = %v (%v); want now", created, err)
	}
	if ok, detail := r.VerifyDI(t, signed); !ok {
		t.Errorf("did:key credential does not verify: %s", detail)
	}
	// Signed with the JWK's (different) key but claiming the did:key: fails.
	forged := r.SignDI(t, jwk, did+"#"+kp.PublicKeyMB, "", encode(t, doc))
	if ok, _ := r.VerifyDI(t, forged); ok {
		t.Error("credential signed with another key verified")
	}
}

// TestVerifyDIBaseURL resolves the key and controller documents from an
// HTTP server on loopback.
func TestVerifyDIBaseURL(t *testing.T) {
	r := Node(t)
	var kp struct {
		PublicKeyMB  string `json:"publicKeyMultibase"`
		LegacySecret string `json:"secretKeyMultibase_legacy_64byte"`
	}
	json.Unmarshal(testdata(t, ob3KeyPair), &kp)
	keyJSON := encode(t, map[string]string{"publicKeyMultibase": kp.PublicKeyMB, "secretKeyMultibase": kp.LegacySecret})

	var hits atomic.Int32
	servedKey := kp.PublicKeyMB
	context := any([]string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"})
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		if req.URL.Path != "/issuers/1" {
			http.NotFound(w, req)
			return
		}
		ctrl := srv.URL + "/issuers/1"
		vm := ctrl + "#" + kp.PublicKeyMB
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"@context": context,
			"id":       ctrl,
			"verificationMethod": []any{map[string]any{
				"id": vm, "type": "Multikey", "controller": ctrl, "publicKeyMultibase": servedKey,
			}},
			"assertionMethod": []string{vm},
		})
	}))
	defer srv.Close()

	doc := decode(t, testdata(t, ob3Unsiged))
	doc["issuer"].(map[string]any)["id"] = srv.URL + "/issuers/1"
	signed := r.SignDI(t, keyJSON, srv.URL+"/issuers/1#"+kp.PublicKeyMB, "", encode(t, doc))

	rb := r.WithBaseURL(srv.URL)
	if ok, detail := rb.VerifyDI(t, signed); !ok {
		t.Fatalf("not verified: %s", detail)
	}
	if hits.Load() == 0 {
		t.Error("base URL mode did not fetch from the server")
	}

	// The server's document decides: a different key there must fail.
	servedKey = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
	if ok, _ := rb.VerifyDI(t, signed); ok {
		t.Error("verified against a key the server does not publish")
	}
	servedKey = kp.PublicKeyMB

	// Quirk: a controller document whose only context is multikey/v1 does
	// not define assertionMethod/verificationMethod; jsonld-signatures frames
	// it in safe mode and fails. Controller documents must lead with the DID
	// context (as above).
	context = "https://w3id.org/security/multikey/v1"
	if ok, detail := rb.VerifyDI(t, signed); ok || !strings.Contains(detail, "Safe mode") {
		t.Errorf("multikey-only controller document: ok=%v detail=%q; want safe mode failure", ok, detail)
	}
	context = []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"}

	// Without a base URL nothing is fetched: a vm whose fragment is not
	// the key cannot be resolved.
	doc["issuer"].(map[string]any)["id"] = srv.URL + "/issuers/1"
	opaque := r.SignDI(t, keyJSON, srv.URL+"/keys/1", "", encode(t, doc))
	n := hits.Load()
	if ok, detail := r.VerifyDI(t, opaque); ok || !strings.Contains(detail, "refused") {
		t.Errorf("offline opaque vm: ok=%v detail=%q; want refused", ok, detail)
	}
	if hits.Load() != n {
		t.Error("offline mode contacted the server")
	}
}

// signJWS builds a compact JWS with the standard library only.
func signJWS(t *testing.T, header map[string]any, payload []byte, key crypto.Signer) string {
	t.Helper()
	input := b64(encode(t, header)) + "." + b64(payload)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	case *ecdsa.PrivateKey:
		h := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		h := sha256.Sum256([]byte(input))
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:]); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unsupported key %T", key)
	}
	return input + "." + b64(sig)
}

func TestVerifyJWT(t *testing.T) {
	r := Node(t)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := ecPriv.PublicKey.Bytes() // 0x04 ‖ X ‖ Y
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)

	edJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(edPub)}
	ecJWK := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(ecPub[1:33]), "y": b64(ecPub[33:])}
	ecPrivJWK := map[string]any{"kty": "EC", "crv": "P-256", "x": ecJWK["x"], "y": ecJWK["y"], "d": b64(ecPriv.D.FillBytes(make([]byte, 32)))}
	rsaJWK := map[string]any{"kty": "RSA", "n": b64(rsaPriv.N.Bytes()), "e": "AQAB"}

	payload := testdata(t, ob3Unsiged)
	for _, tc := range []struct {
		name    string
		header  map[string]any
		key     crypto.Signer
		jwk     map[string]any // nil = embedded
		tamper  bool
		wantOK  bool
		wantErr string
	}{
		{name: "ES256 embedded", header: map[string]any{"alg": "ES256", "typ": "JWT", "jwk": ecJWK}, key: ecPriv, wantOK: true},
		{name: "ES256 given", header: map[string]any{"alg": "ES256", "kid": "k1"}, key: ecPriv, jwk: ecJWK, wantOK: true},
		{name: "EdDSA embedded", header: map[string]any{"alg": "EdDSA", "typ": "JWT", "jwk": edJWK}, key: edPriv, wantOK: true},
		{name: "EdDSA given", header: map[string]any{"alg": "EdDSA"}, key: edPriv, jwk: edJWK, wantOK: true},
		{name: "ES256 tampered", header: map[string]any{"alg": "ES256", "jwk": ecJWK}, key: ecPriv, tamper: true, wantErr: "signature verification failed"},
		{name: "EdDSA wrong key", header: map[string]any{"alg": "EdDSA", "jwk": edJWK}, key: edPriv, jwk: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": b64(make([]byte, 32))}, wantErr: "signature verification failed"},
		{name: "no key", header: map[string]any{"alg": "ES256", "kid": "k1"}, key: ecPriv, wantErr: "no key"},
		{name: "embedded private", header: map[string]any{"alg": "ES256", "jwk": ecPrivJWK}, key: ecPriv, wantErr: "private"},
		{name: "RS256 not allowed", header: map[string]any{"alg": "RS256", "jwk": rsaJWK}, key: rsaPriv, wantErr: "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := signJWS(t, tc.header, payload, tc.key)
			if tc.tamper {
				parts := strings.Split(tok, ".")
				parts[1] = b64([]byte(strings.Replace(string(payload), "Example", "Exampl3", 1)))
				tok = strings.Join(parts, ".")
			}
			var jwk []byte
			if tc.jwk != nil {
				jwk = encode(t, tc.jwk)
			}
			got, ok, detail := r.VerifyJWT(t, tok, jwk)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v (%s); want %v", ok, detail, tc.wantOK)
			}
			if ok && string(got) != strings.TrimSpace(string(payload)) {
				t.Errorf("payload = %s; want %s", got, payload)
			}
			if !ok && !strings.Contains(detail, tc.wantErr) {
				t.Errorf("detail %q; want it to contain %q", detail, tc.wantErr)
			}
		})
	}
	if _, ok, detail := r.VerifyJWT(t, "garbage", nil); ok || !strings.HasPrefix(detail, "unusable input") {
		t.Errorf("garbage token: ok=%v detail=%q", ok, detail)
	}
}
