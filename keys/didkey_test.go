package keys

import (
	"github.com/insigne/insigne/internal/base58"

	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Ed25519 did:key test vectors (w3c-ccg/did-method-key,
// test-vectors/ed25519-x25519.json): the seed and the public key as
// publicKeyBase58 in the spec's Ed25519VerificationKey2018.
var ed25519DIDVectors = []struct{ did, seed, publicKeyBase58 string }{
	{"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "0000000000000000000000000000000000000000000000000000000000000000", "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS"},
	{"did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG", "0000000000000000000000000000000000000000000000000000000000000001", "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt"},
	{"did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf", "0000000000000000000000000000000000000000000000000000000000000002", "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH"},
	{"did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ", "0000000000000000000000000000000000000000000000000000000000000003", "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2"},
	{"did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL", "0000000000000000000000000000000000000000000000000000000000000004", "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x"},
}

func TestDIDKeyEd25519Vectors(t *testing.T) {
	for _, v := range ed25519DIDVectors {
		wantPub, err := base58.Decode(v.publicKeyBase58)
		if err != nil {
			t.Fatal(err)
		}
		// From the seed to the DID.
		k, err := NewKeyPair(ed25519.NewKeyFromSeed(mustHex(t, v.seed)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public.(ed25519.PublicKey), wantPub) {
			t.Fatalf("%s: public key from seed differs from publicKeyBase58", v.did)
		}
		if got := k.DIDKey(); got != v.did {
			t.Errorf("DIDKey = %s, want %s", got, v.did)
		}
		mb := strings.TrimPrefix(v.did, "did:key:")
		if got := k.DIDKeyVerificationMethod(); got != v.did+"#"+mb {
			t.Errorf("DIDKeyVerificationMethod = %s", got)
		}
		// From the DID (and its verification method) to the key.
		for _, in := range []string{v.did, v.did + "#" + mb} {
			r, err := ResolveDIDKey(in)
			if err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if r.Alg != Ed25519 || r.Private != nil || !bytes.Equal(r.Public.(ed25519.PublicKey), wantPub) {
				t.Fatalf("%s: resolved to the wrong key", in)
			}
		}
	}
}

func TestDIDKeyP256Vectors(t *testing.T) {
	for _, v := range p256Vectors {
		r, err := ResolveDIDKey(v.did)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := r.Public.(*ecdsa.PublicKey).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]byte{4}, b64(t, v.x)...), b64(t, v.y)...)
		if r.Alg != P256 || !bytes.Equal(raw, want) {
			t.Fatalf("%s resolved to %x, want %x", v.did, raw, want)
		}
		k, err := ParseJWK([]byte(ecJWK(v.x, v.y, v.d)))
		if err != nil {
			t.Fatal(err)
		}
		if got := k.DIDKey(); got != v.did {
			t.Errorf("DIDKey = %s, want %s", got, v.did)
		}
		if _, err := ResolveDIDKey(k.DIDKeyVerificationMethod()); err != nil {
			t.Error(err)
		}
	}
}

func TestResolveDIDKeyErrors(t *testing.T) {
	did := ed25519DIDVectors[0].did
	other := strings.TrimPrefix(ed25519DIDVectors[1].did, "did:key:")
	cases := []struct{ name, in, want string }{
		{"empty", "", "not a did:key"},
		{"did:web", "did:web:example.edu", "not a did:key"},
		{"upper-case method", "did:KEY:z6Mk", "not a did:key"},
		{"bare multibase", strings.TrimPrefix(did, "did:key:"), "not a did:key"},
		{"other fragment", did + "#" + other, "fragment does not name the key"},
		{"empty fragment", did + "#", "fragment does not name the key"},
		{"path", did + "/path", "path, query or version"},
		{"query", did + "?versionId=1", "path, query or version"},
		{"version", "did:key:1:" + strings.TrimPrefix(did, "did:key:"), "path, query or version"},
		{"empty id", "did:key:", "empty multibase"},
		{"bad base58", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0", "invalid base58btc"},
		// Dropping base58 digits divides the whole number, header included.
		{"truncated", did[:len(did)-5], "is not supported"},
		{"short key", "did:key:" + multibase(codecEd25519Pub, make([]byte, 16)), "has 16 bytes"},
		{"P-384", "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9", "P-384"},
	}
	for _, c := range cases {
		_, err := ResolveDIDKey(c.in)
		if err == nil {
			t.Errorf("%s: resolved", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "keys: resolve did:key: ") {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestDIDKeyDocument(t *testing.T) {
	const did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
	const vm = did + "#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
	const want = `{
	  "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
	  "id": "` + did + `",
	  "verificationMethod": [{
	    "id": "` + vm + `",
	    "type": "Multikey",
	    "controller": "` + did + `",
	    "publicKeyMultibase": "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
	  }],
	  "authentication": ["` + vm + `"],
	  "assertionMethod": ["` + vm + `"],
	  "capabilityInvocation": ["` + vm + `"],
	  "capabilityDelegation": ["` + vm + `"]
	}`
	var wantDoc map[string]any
	if err := json.Unmarshal([]byte(want), &wantDoc); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{did, vm} {
		doc, err := DIDKeyDocument(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(doc, wantDoc) {
			got, _ := json.MarshalIndent(doc, "", "  ")
			t.Fatalf("DIDKeyDocument(%s) =\n%s", in, got)
		}
	}
	if _, err := DIDKeyDocument("did:web:example.edu"); err == nil {
		t.Fatal("DIDKeyDocument(did:web) succeeded")
	}
}
