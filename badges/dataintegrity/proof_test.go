package dataintegrity_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
)

var (
	vectors  = filepath.Join("..", "..", "testdata", "vectors")
	examples = filepath.Join("..", "..", "testdata", "examples", "1edtech-validator-ob30")
)

func canon(t testing.TB) *jsonld.Canonicalizer {
	t.Helper()
	l, err := jsonld.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readDoc(t testing.TB, p string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, p), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keyFromFile(t testing.TB, p string) *keys.KeyPair {
	t.Helper()
	k, err := keys.ParseKeyFile(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// obVectorKey builds the 1EdTech vector's key from its hex seed, independent
// of the Multikey codecs.
func obVectorKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	var kp map[string]string
	if err := json.Unmarshal(readFile(t, filepath.Join(vectors, "ob3-impl-guide", "keypair.json")), &kp); err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(kp["privateKeyHex_seed_plus_public_64bytes"][:64])
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func created(t testing.TB, proof map[string]any) time.Time {
	t.Helper()
	c, err := time.Parse(time.RFC3339, proof["created"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The published vectors: signing reproduces proofValue byte for byte.
func TestSignReproducesVectors(t *testing.T) {
	c := canon(t)
	w3cKey := keyFromFile(t, filepath.Join(vectors, "vc-di-eddsa", "keyPair.json"))
	cases := []struct {
		name, unsigned, signed string
		key                    ed25519.PrivateKey
		wantProofValue         string
	}{
		{
			name:     "w3c vc-di-eddsa",
			unsigned: filepath.Join(vectors, "vc-di-eddsa", "unsigned.json"),
			signed:   filepath.Join(vectors, "vc-di-eddsa", "eddsa-rdfc-2022", "signedDataInt.json"),
			key:      w3cKey.Private.(ed25519.PrivateKey),
			wantProofValue: strings.TrimSpace(string(readFile(t,
				filepath.Join(vectors, "vc-di-eddsa", "eddsa-rdfc-2022", "sigBTC58DataInt.txt")))),
		},
		{
			name:           "1edtech ob 3.0",
			unsigned:       filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json"),
			signed:         filepath.Join(vectors, "ob3-impl-guide", "signed-credential.json"),
			key:            obVectorKey(t),
			wantProofValue: "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signed := readDoc(t, tc.signed)
			want := dataintegrity.Proofs(signed)[0].(map[string]any)
			if want["proofValue"] != tc.wantProofValue {
				t.Fatalf("vector files disagree: %v", want["proofValue"])
			}
			got, err := dataintegrity.Sign(c, readDoc(t, tc.unsigned), tc.key, dataintegrity.Options{
				VerificationMethod: want["verificationMethod"].(string),
				Created:            created(t, want),
			})
			if err != nil {
				t.Fatal(err)
			}
			proof := dataintegrity.Proofs(got)[0].(map[string]any)
			if proof["proofValue"] != tc.wantProofValue {
				t.Errorf("proofValue = %v, want %v", proof["proofValue"], tc.wantProofValue)
			}
		})
	}
}

// The intermediate values of the W3C vector: canonical forms and hashes.
func TestW3CVectorIntermediates(t *testing.T) {
	c := canon(t)
	dir := filepath.Join(vectors, "vc-di-eddsa", "eddsa-rdfc-2022")
	doc, err := c.Canonicalize(readDoc(t, filepath.Join(vectors, "vc-di-eddsa", "unsigned.json")))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(readFile(t, filepath.Join(dir, "canonDocDataInt.txt"))); doc != want {
		t.Errorf("canonical document:\n%s\nwant:\n%s", doc, want)
	}
	cfg, err := c.Canonicalize(readDoc(t, filepath.Join(dir, "proofConfigDataInt.json")))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(readFile(t, filepath.Join(dir, "proofCanonDataInt.txt"))); cfg != want {
		t.Errorf("canonical proof config:\n%s\nwant:\n%s", cfg, want)
	}
	dh, ph := sha256.Sum256([]byte(doc)), sha256.Sum256([]byte(cfg))
	if got, want := hex.EncodeToString(dh[:]), strings.TrimSpace(string(readFile(t, filepath.Join(dir, "docHashDataInt.txt")))); got != want {
		t.Errorf("document hash %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(ph[:]), strings.TrimSpace(string(readFile(t, filepath.Join(dir, "proofHashDataInt.txt")))); got != want {
		t.Errorf("proof hash %s, want %s", got, want)
	}
}

// The 1EdTech vectors' canonical N-Quads and hashes (OB 3.0 and CLR 2.0).
func TestOneEdTechVectorIntermediates(t *testing.T) {
	c := canon(t)
	for _, dir := range []string{"ob3-impl-guide", "clr2-impl-guide"} {
		t.Run(dir, func(t *testing.T) {
			signed := readDoc(t, filepath.Join(vectors, dir, "signed-credential.json"))
			proof := dataintegrity.Proofs(signed)[0].(map[string]any)
			unsecured := map[string]any{}
			for k, v := range signed {
				if k != "proof" {
					unsecured[k] = v
				}
			}
			cfg := map[string]any{"@context": signed["@context"]}
			for k, v := range proof {
				if k != "proofValue" {
					cfg[k] = v
				}
			}
			doc, err := c.Canonicalize(unsecured)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := c.Canonicalize(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if want := string(readFile(t, filepath.Join(vectors, dir, "document-canon.nq"))); doc != want {
				t.Errorf("canonical document differs:\n%s\nwant:\n%s", doc, want)
			}
			if want := string(readFile(t, filepath.Join(vectors, dir, "proof-canon.nq"))); pc != want {
				t.Errorf("canonical proof differs:\n%s\nwant:\n%s", pc, want)
			}
			hashes := string(readFile(t, filepath.Join(vectors, dir, "hashes.txt")))
			dh, ph := sha256.Sum256([]byte(doc)), sha256.Sum256([]byte(pc))
			if !strings.Contains(hashes, "documentHashHex="+hex.EncodeToString(dh[:])) {
				t.Errorf("document hash %x not in hashes.txt", dh)
			}
			if !strings.Contains(hashes, "proofHashHex="+hex.EncodeToString(ph[:])) {
				t.Errorf("proof hash %x not in hashes.txt", ph)
			}
		})
	}
}

func TestVerifyPublishedCredentials(t *testing.T) {
	c := canon(t)
	files := []string{
		filepath.Join(vectors, "vc-di-eddsa", "eddsa-rdfc-2022", "signedDataInt.json"),
		filepath.Join(vectors, "ob3-impl-guide", "signed-credential.json"),
		filepath.Join(vectors, "clr2-impl-guide", "signed-credential.json"),
		filepath.Join(examples, "simple.json"),
		filepath.Join(examples, "simple-context-version.json"),
		filepath.Join(examples, "simple-context-alias.json"),
		filepath.Join(examples, "simple-did-key-method.json"),
		filepath.Join(examples, "simple-multiple-proofs.json"),
		filepath.Join(examples, "simple_v1.json"),         // Ed25519Signature2020
		filepath.Join(examples, "simple-eddsa-2022.json"), // legacy cryptosuite name
		filepath.Join(examples, "endorsement-valid.json"),
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc := readDoc(t, f)
			proof, err := dataintegrity.Select(doc, dataintegrity.PurposeAssertion)
			if err != nil {
				t.Fatal(err)
			}
			vm := proof["verificationMethod"].(string)
			var k *keys.KeyPair
			if strings.HasPrefix(vm, "did:key:") {
				k, err = keys.ResolveDIDKey(vm)
			} else {
				k, err = keys.DecodePublicKeyMultibase(vm[strings.LastIndexByte(vm, '#')+1:])
			}
			if err != nil {
				t.Fatal(err)
			}
			pub := k.Public.(ed25519.PublicKey)
			if err := dataintegrity.Verify(c, doc, proof, pub); err != nil {
				t.Fatalf("verify: %v", err)
			}

			// Any change to a signed value must break the signature.
			tampered := readDoc(t, f)
			tampered["id"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
			if err := dataintegrity.Verify(c, tampered, proof, pub); !errors.Is(err, dataintegrity.ErrBadSignature) {
				t.Fatalf("tampered document: err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestRoundTripAndProofSet(t *testing.T) {
	c := canon(t)
	_, priv, _ := ed25519.GenerateKey(nil)
	pub := priv.Public().(ed25519.PublicKey)
	doc := readDoc(t, filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json"))
	first, err := dataintegrity.Sign(c, doc, priv, dataintegrity.Options{VerificationMethod: "https://example.edu/issuers/565049#k1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["proof"]; ok {
		t.Fatal("Sign modified its input")
	}
	second, err := dataintegrity.Sign(c, first, priv, dataintegrity.Options{VerificationMethod: "https://example.edu/issuers/565049#k2"})
	if err != nil {
		t.Fatal(err)
	}
	proofs := dataintegrity.Proofs(second)
	if len(proofs) != 2 {
		t.Fatalf("%d proofs, want 2", len(proofs))
	}
	for _, p := range proofs {
		if err := dataintegrity.Verify(c, second, p.(map[string]any), pub); err != nil {
			t.Errorf("proof %v: %v", p.(map[string]any)["verificationMethod"], err)
		}
	}
	// A JSON round trip (what storage does) keeps the proof valid.
	b, _ := json.Marshal(second)
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	p, _ := dataintegrity.Select(back, dataintegrity.PurposeAssertion)
	if err := dataintegrity.Verify(c, back, p, pub); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRefusesBadProofs(t *testing.T) {
	c := canon(t)
	doc := readDoc(t, filepath.Join(vectors, "ob3-impl-guide", "signed-credential.json"))
	proof := dataintegrity.Proofs(doc)[0].(map[string]any)
	pub := obVectorKey(t).Public().(ed25519.PublicKey)
	mutate := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range proof {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := map[string]map[string]any{
		"other cryptosuite":   mutate("cryptosuite", "ecdsa-rdfc-2019"),
		"bad created":         mutate("created", "yesterday"),
		"no proofValue":       mutate("proofValue", nil),
		"not multibase":       mutate("proofValue", "5x9aCBYov"),
		"bad base58":          mutate("proofValue", "z0OIl"),
		"short signature":     mutate("proofValue", "z5x9aCBYovW3"),
		"other created":       mutate("created", "2011-01-01T19:23:24Z"),
		"other purpose":       mutate("proofPurpose", "authentication"),
		"other vm":            mutate("verificationMethod", "https://example.edu/issuers/1#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"),
		"unknown proof field": mutate("nonce", "abc"),
	}
	for name, p := range cases {
		if err := dataintegrity.Verify(c, doc, p, pub); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := dataintegrity.Verify(c, doc, proof, other); !errors.Is(err, dataintegrity.ErrBadSignature) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestSelect(t *testing.T) {
	if _, err := dataintegrity.Select(readDoc(t, filepath.Join(examples, "simple-noproof.json")), dataintegrity.PurposeAssertion); !errors.Is(err, dataintegrity.ErrNoProof) {
		t.Errorf("no proof: %v", err)
	}
	doc := map[string]any{"proof": []any{map[string]any{"type": "SomeProofType", "proofPurpose": "assertionMethod"}}}
	if _, err := dataintegrity.Select(doc, dataintegrity.PurposeAssertion); !errors.Is(err, dataintegrity.ErrUnsupported) {
		t.Errorf("unsupported: %v", err)
	}
}

func BenchmarkSignDataIntegrity(b *testing.B) {
	c := canon(b)
	doc := readDoc(b, filepath.Join(vectors, "ob3-impl-guide", "unsigned-credential.json"))
	key := obVectorKey(b)
	opts := dataintegrity.Options{VerificationMethod: "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"}
	for b.Loop() {
		if _, err := dataintegrity.Sign(c, doc, key, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDataIntegrity(b *testing.B) {
	c := canon(b)
	doc := readDoc(b, filepath.Join(vectors, "ob3-impl-guide", "signed-credential.json"))
	proof := dataintegrity.Proofs(doc)[0].(map[string]any)
	pub := obVectorKey(b).Public().(ed25519.PublicKey)
	for b.Loop() {
		if err := dataintegrity.Verify(c, doc, proof, pub); err != nil {
			b.Fatal(err)
		}
	}
}
