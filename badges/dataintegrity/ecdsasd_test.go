package dataintegrity

// Internal tests: the proofValue parser is unexported.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
)

var sdGoldens = []struct {
	name, path, issuerKey string
}{
	{
		name:      "1edtech-validator",
		path:      filepath.Join("..", "..", "testdata", "examples", "1edtech-validator-ob30", "sd", "derivedcredential.json"),
		issuerKey: "zDnaekGZTbQBerwcehBSXLqAg6s55hVEBms1zFy89VHXtJSa9",
	},
	{
		name:      "w3c-vc-di-ecdsa",
		path:      filepath.Join("..", "..", "testdata", "vectors", "vc-di-ecdsa-sd", "derivedRevealDocument.json"),
		issuerKey: "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP",
	},
}

func sdCanon(t testing.TB) *jsonld.Canonicalizer {
	t.Helper()
	l, err := jsonld.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
}

func sdLoad(t testing.TB, path string) (map[string]any, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range Proofs(doc) {
		if m := p.(map[string]any); m["cryptosuite"] == SuiteECDSASD2023 {
			return doc, m
		}
	}
	t.Fatalf("%s: no ecdsa-sd-2023 proof", path)
	return nil, nil
}

func sdKey(t testing.TB, mb string) *ecdsa.PublicKey {
	t.Helper()
	kp, err := keys.DecodePublicKeyMultibase(mb)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := kp.Public.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("%s is not a P-256 key: %T", mb, kp.Public)
	}
	return pub
}

// clone deep-copies decoded JSON.
func clone(t testing.TB, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyECDSASDGoldens(t *testing.T) {
	c := sdCanon(t)
	for _, g := range sdGoldens {
		t.Run(g.name, func(t *testing.T) {
			doc, proof := sdLoad(t, g.path)
			key := sdKey(t, g.issuerKey)
			if vm, _ := proof["verificationMethod"].(string); !strings.HasSuffix(vm, "#"+g.issuerKey) {
				t.Fatalf("verificationMethod %q does not name key %s", vm, g.issuerKey)
			}
			if err := VerifyECDSASD(c, doc, proof, key); err != nil {
				t.Fatalf("golden does not verify: %v", err)
			}

			// A wrong issuer key.
			other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyECDSASD(c, doc, proof, &other.PublicKey); !errors.Is(err, ErrBadSignature) {
				t.Errorf("wrong key: got %v, want ErrBadSignature", err)
			}

			// Proof options are signed by the base signature.
			p2 := clone(t, proof)
			p2["created"] = "2030-01-01T00:00:00Z"
			if err := VerifyECDSASD(c, doc, p2, key); !errors.Is(err, ErrBadSignature) {
				t.Errorf("changed created: got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyECDSASDTampered(t *testing.T) {
	c := sdCanon(t)
	tamper := map[string]func(doc map[string]any){
		// a value covered by a statement signature or the mandatory hash
		"achievement name": func(doc map[string]any) {
			doc["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["name"] = "Leadership"
		},
		"issuer name": func(doc map[string]any) {
			doc["issuer"].(map[string]any)["name"] = "Mallory Corp"
		},
		"validFrom": func(doc map[string]any) { doc["validFrom"] = "2011-01-01T00:00:00Z" },
		"removed criteria": func(doc map[string]any) {
			delete(doc["credentialSubject"].(map[string]any)["achievement"].(map[string]any), "criteria")
		},
		"added description": func(doc map[string]any) {
			doc["issuer"].(map[string]any)["description"] = "extra"
		},
	}
	doc, _ := sdLoad(t, sdGoldens[0].path)
	key := sdKey(t, sdGoldens[0].issuerKey)
	for name, f := range tamper {
		t.Run(name, func(t *testing.T) {
			d := clone(t, doc)
			f(d)
			_, proof := func() (map[string]any, map[string]any) {
				for _, p := range Proofs(d) {
					return d, p.(map[string]any)
				}
				return nil, nil
			}()
			err := VerifyECDSASD(c, d, proof, key)
			if err == nil {
				t.Fatal("tampered credential verifies")
			}
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}

	// W3C vector: change a revealed value (non-mandatory) and a mandatory one.
	wdoc, _ := sdLoad(t, sdGoldens[1].path)
	wkey := sdKey(t, sdGoldens[1].issuerKey)
	for name, f := range map[string]func(map[string]any){
		"sail year": func(d map[string]any) {
			d["credentialSubject"].(map[string]any)["sails"].([]any)[0].(map[string]any)["year"] = 2024.0
		},
		"sailNumber": func(d map[string]any) { d["credentialSubject"].(map[string]any)["sailNumber"] = "Mars101" },
		"issuer":     func(d map[string]any) { d["issuer"] = "https://vc.example/someone-else" },
	} {
		t.Run("w3c "+name, func(t *testing.T) {
			d := clone(t, wdoc)
			f(d)
			proof := Proofs(d)[0].(map[string]any)
			if err := VerifyECDSASD(c, d, proof, wkey); !errors.Is(err, ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyECDSASDRefuses(t *testing.T) {
	c := sdCanon(t)
	doc, proof := sdLoad(t, sdGoldens[0].path)
	key := sdKey(t, sdGoldens[0].issuerKey)

	if err := VerifyECDSASD(c, doc, proof, nil); err == nil {
		t.Error("nil key accepted")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err := VerifyECDSASD(c, doc, proof, &p384.PublicKey); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("P-384 key: got %v, want a key error", err)
	}
	p := clone(t, proof)
	p["cryptosuite"] = "ecdsa-rdfc-2019"
	if err := VerifyECDSASD(c, doc, p, key); !errors.Is(err, ErrUnsupported) {
		t.Errorf("other cryptosuite: got %v, want ErrUnsupported", err)
	}
	p = clone(t, proof)
	p["created"] = "yesterday"
	if err := VerifyECDSASD(c, doc, p, key); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("bad created: got %v", err)
	}
	p = clone(t, proof)
	delete(p, "proofValue")
	if err := VerifyECDSASD(c, doc, p, key); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("no proofValue: got %v", err)
	}

	// A statement signature moved: the base signature still verifies, the
	// statement signatures do not.
	dp, err := parseDerivedProofValue(proof["proofValue"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if len(dp.signatures) < 2 {
		t.Fatal("golden has fewer than 2 statement signatures")
	}
	raw := decodeU(t, proof["proofValue"].(string))
	i := strings.Index(string(raw), string(dp.signatures[0]))
	j := strings.Index(string(raw), string(dp.signatures[1]))
	swapped := append([]byte(nil), raw...)
	copy(swapped[i:], dp.signatures[1])
	copy(swapped[j:], dp.signatures[0])
	p = clone(t, proof)
	p["proofValue"] = "u" + base64.RawURLEncoding.EncodeToString(swapped)
	if err := VerifyECDSASD(c, doc, p, key); !errors.Is(err, ErrBadSignature) {
		t.Errorf("swapped statement signatures: got %v, want ErrBadSignature", err)
	}
}

func decodeU(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "u"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDerivedProofValue(t *testing.T) {
	doc, proof := sdLoad(t, sdGoldens[1].path)
	_ = doc
	pv := proof["proofValue"].(string)
	dp, err := parseDerivedProofValue(pv)
	if err != nil {
		t.Fatal(err)
	}
	if len(dp.baseSignature) != 64 || len(dp.publicKey) != 35 {
		t.Fatalf("sizes: base %d, key %d", len(dp.baseSignature), len(dp.publicKey))
	}
	if len(dp.labelMap) == 0 || len(dp.mandatoryIndexes) == 0 {
		t.Fatalf("label map %d entries, mandatory %d", len(dp.labelMap), len(dp.mandatoryIndexes))
	}
	for k, v := range dp.labelMap {
		if !strings.HasPrefix(k, "c14n") || !strings.HasPrefix(v, "u") || len(v) != 44 {
			t.Errorf("label %q -> %q", k, v)
		}
	}
	raw := decodeU(t, pv)
	enc := func(b []byte) string { return "u" + base64.RawURLEncoding.EncodeToString(b) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	hdr := []byte{0xd9, 0x5d, 0x01}
	sig := cat([]byte{0x58, 64}, make([]byte, 64))
	pub := cat([]byte{0x58, 35, 0x80, 0x24, 0x02}, make([]byte, 32))
	bad := map[string]string{
		"empty":             "",
		"no prefix":         pv[1:],
		"base58 prefix":     "z" + pv[1:],
		"padding":           pv + "==",
		"std alphabet":      strings.NewReplacer("-", "+", "_", "/").Replace(pv) + "+/",
		"newline":           pv[:20] + "\n" + pv[20:],
		"header only":       enc(hdr),
		"base proof header": enc(cat([]byte{0xd9, 0x5d, 0x00}, raw[3:])),
		"truncated":         enc(raw[:len(raw)-1]),
		"trailing":          enc(cat(raw, []byte{0})),
		"4 items":           enc(cat(hdr, []byte{0x84}, sig, pub, []byte{0x80, 0xa0})),
		"6 items":           enc(cat(hdr, []byte{0x86}, sig, pub, []byte{0x80, 0xa0, 0x80, 0x80})),
		"short sig":         enc(cat(hdr, []byte{0x85, 0x58, 63}, make([]byte, 63), pub, []byte{0x80, 0xa0, 0x80})),
		"key no codec":      enc(cat(hdr, []byte{0x85}, sig, []byte{0x58, 35}, make([]byte, 35), []byte{0x80, 0xa0, 0x80})),
		"tagged":            enc(cat(hdr, []byte{0x85, 0xc2}, sig, pub, []byte{0x80, 0xa0, 0x80})),
		"indefinite array":  enc(cat(hdr, []byte{0x9f}, sig, pub, []byte{0x80, 0xa0, 0x80, 0xff})),
		"huge array":        enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
		"huge bytes":        enc(cat(hdr, []byte{0x85, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})),
		"text label":        enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x80, 0xa1, 0x61, 'a', 0x58, 32}, make([]byte, 32), []byte{0x80})),
		"dup label key":     enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x80, 0xa2, 0x00, 0x58, 32}, make([]byte, 32), []byte{0x00, 0x58, 32}, make([]byte, 32), []byte{0x80})),
		"negative index":    enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x80, 0xa0, 0x81, 0x20})),
		"reserved info":     enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x80, 0xa0, 0x81, 0x1c})),
		"not array":         enc(cat(hdr, []byte{0xa0})),
		"too long":          "u" + strings.Repeat("A", maxSDProofValueLen),
	}
	for name, s := range bad {
		if _, err := parseDerivedProofValue(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A minimal well-formed value parses.
	if _, err := parseDerivedProofValue(enc(cat(hdr, []byte{0x85}, sig, pub, []byte{0x80, 0xa0, 0x80}))); err != nil {
		t.Errorf("minimal value: %v", err)
	}
}

func TestRelabelNQuads(t *testing.T) {
	m := map[string]string{"c14n0": "uB", "c14n1": "uA", "c14n10": "uC"}
	in := `_:c14n0 <http://ex/p> "_:c14n1 \" still literal" .
_:c14n1 <http://ex/p> _:c14n10 .
_:c14n10 <http://ex/p> "x"^^<http://ex/t> _:c14n0 .
<http://ex/s> <http://ex/p> "y"@en .
`
	got, err := relabelNQuads(in, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<http://ex/s> <http://ex/p> \"y\"@en .\n",
		"_:uA <http://ex/p> _:uC .\n",
		"_:uB <http://ex/p> \"_:c14n1 \\\" still literal\" .\n",
		"_:uC <http://ex/p> \"x\"^^<http://ex/t> _:uB .\n",
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, ""), strings.Join(want, ""))
	}
	for _, bad := range []string{
		"_:c14n2 <http://ex/p> <http://ex/o> .\n", // not in the map
		"<http://ex/s> <http://ex/p> \"open .\n",
		"<http://ex/s> <http://ex/p> <http://ex/o>\n",
		"<http://ex/s> <http://ex/p> .\n",
		"<http://ex/s> <http://ex/p> <http://ex/o> .",
		"<http://ex/s>  <http://ex/p> <http://ex/o> .\n",
	} {
		if _, err := relabelNQuads(bad, m); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseDerivedProofValue(f *testing.F) {
	for _, g := range sdGoldens {
		_, proof := sdLoad(f, g.path)
		f.Add(proof["proofValue"].(string))
	}
	f.Add("u2V0BhQ")
	f.Add("u2V0A")
	f.Fuzz(func(t *testing.T, s string) {
		dp, err := parseDerivedProofValue(s)
		if err != nil {
			return
		}
		if len(dp.baseSignature) != sdSignatureLen || len(dp.publicKey) != sdPublicKeyLen {
			t.Fatalf("accepted sizes %d/%d", len(dp.baseSignature), len(dp.publicKey))
		}
		for _, sig := range dp.signatures {
			if len(sig) != sdSignatureLen {
				t.Fatalf("accepted signature of %d bytes", len(sig))
			}
		}
		_, _ = decodeP256Multikey(dp.publicKey)
	})
}
