package jsonld

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// seedMutations are hand-written variations on the corpus that exercise
// value forms the vectors do not: numbers, booleans, nulls, @json, lists,
// language tags, graph containers, invalid IRIs, undefined terms.
var seedMutations = []string{
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"issuer":"https://a.example/i","validFrom":"2020-01-01T00:00:00Z","credentialSubject":{"id":"did:example:1","name":["x","x",1,1.5,true,null,{"@value":"y","@language":"en-US"}]}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"JsonSchemaCredential","credentialSubject":{"type":"JsonSchema","jsonSchema":{"b":[1,2.50,"\u00e9"],"a":null}}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"issuer":"http://exa mple.com/","credentialSubject":{"id":"https://-bad-.example/","name":"n"}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","Foo"],"issuer":"urn:x"}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiablePresentation"],"verifiableCredential":[{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"VerifiableCredential","issuer":"urn:y"}],"holder":"urn:h"}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],"type":["VerifiableCredential","OpenBadgeCredential"],"credentialSubject":{"type":"AchievementSubject","creditsEarned":3,"achievement":{"id":"urn:a","type":"Achievement","creditsAvailable":1e21,"tag":["a","b"]}},"awardedDate":"2020-01-01T00:00:00Z"}`,
	`{"@context":"https://www.w3.org/ns/credentials/v2","type":"DataIntegrityProof","proofPurpose":"assertionMethod","created":"2020-01-01T00:00:00Z","cryptosuite":"eddsa-rdfc-2022","verificationMethod":"did:key:z6Mk#z6Mk"}`,
	`{"@context":["https://www.w3.org/2018/credentials/v1","https://w3id.org/security/data-integrity/v1"],"type":["VerifiableCredential"],"issuer":{"id":"urn:i","name":"I"},"issuanceDate":"2020-01-01T00:00:00Z","credentialSubject":{"id":"_:b7","name":{"@list":["a","b"]}}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],"type":"VerifiableCredential","foo":{"bar":[1,2,{"baz":"q"}]},"id":"_:x","sub":{"id":"_:x"}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"@id":"urn:x","@type":"VerifiableCredential","name":{"@value":"v","@type":"https://e.example/t"}}`,
	`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"VerifiableCredential","proof":{"type":"DataIntegrityProof","proofPurpose":"authentication","nonce":"n"}}`,
}

func FuzzFastMatchesReference(f *testing.F) {
	for _, tc := range corpus(f) {
		b, err := json.Marshal(tc.doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range seedMutations {
		f.Add([]byte(s))
	}
	c := newCanon(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			return
		}
		want, wantErr, refPanicked := referenceNoPanic(c, data)
		if refPanicked {
			// A json-gold panic: not the fast path's business, but the fast
			// path must not turn it into a success.
			if out, err := c.canonicalizeFast(doc); err == nil {
				t.Fatalf("reference panics, fast path returned %q", out)
			}
			return
		}
		fast, fastErr := c.canonicalizeFast(doc)
		if wantErr == nil {
			if fastErr != nil && !errors.Is(fastErr, errNotHandled) {
				t.Fatalf("reference ok, fast path error: %v", fastErr)
			}
			if fastErr == nil && fast != want {
				t.Fatalf("output mismatch\n--- reference\n%s--- fast\n%s", want, fast)
			}
			return
		}
		if fastErr == nil {
			t.Fatalf("reference error %v, fast path returned\n%s", wantErr, fast)
		}
		if errors.Is(fastErr, errNotHandled) {
			return
		}
		if errors.Is(fastErr, ErrUnsafe) != errors.Is(wantErr, ErrUnsafe) {
			t.Fatalf("error class mismatch\nreference %v\nfast      %v", wantErr, fastErr)
		}
		// checkInput and checkDataset walk maps in random order: with two
		// offending values the reference itself names either one.
		if fastErr.Error() != wantErr.Error() && errKind(fastErr) != errKind(wantErr) {
			t.Fatalf("error mismatch\nreference %v\nfast      %v", wantErr, fastErr)
		}
	})
}

// referenceNoPanic runs the reference path on a fresh decoding of data.
func referenceNoPanic(c *Canonicalizer, data []byte) (out string, err error, panicked bool) {
	var doc any
	_ = json.Unmarshal(data, &doc)
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			if s, ok := r.(string); ok && strings.Contains(s, "fuzz") {
				panic(r)
			}
		}
	}()
	out, err = c.canonicalizeReference(doc)
	return out, err, false
}

func errKind(err error) string {
	for _, k := range []string{"control character", "nested deeper", "not an absolute IRI", "more than"} {
		if strings.Contains(err.Error(), k) {
			return k
		}
	}
	return err.Error()
}
