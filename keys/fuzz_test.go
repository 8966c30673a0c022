package keys

import (
	"strings"
	"testing"
)

// checkParsed verifies invariants of any key pair a parser returns: its
// halves are consistent and it survives both encodings unchanged.
func checkParsed(t *testing.T, k *KeyPair) {
	t.Helper()
	if err := k.check(); err != nil {
		t.Fatalf("parser returned an inconsistent key pair: %v", err)
	}
	mb := k.PublicKeyMultibase()
	back, err := DecodePublicKeyMultibase(mb)
	if err != nil || !equalPublic(back, k) {
		t.Fatalf("publicKeyMultibase round trip: %v", err)
	}
	jwk, err := k.MarshalPublicJWK("")
	if err != nil {
		t.Fatal(err)
	}
	if back, err = ParseJWK(jwk); err != nil || !equalPublic(back, k) {
		t.Fatalf("public JWK round trip: %v", err)
	}
	if k.Private != nil {
		priv, err := k.MarshalPrivateJWK("")
		if err != nil {
			t.Fatal(err)
		}
		if back, err = ParseJWK(priv); err != nil || !equalPublic(back, k) || back.Private == nil {
			t.Fatalf("private JWK round trip: %v", err)
		}
	}
}

func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte(rfc8037Private))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`))
	for _, v := range p256Vectors {
		f.Add([]byte(ecJWK(v.x, v.y, v.d)))
		f.Add([]byte(ecJWK(v.x, v.y, "")))
	}
	f.Add([]byte(`{"publicKeyMultibase":"z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2","privateKeyMultibase":"z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"}`))
	f.Add([]byte(`{"publicKeyMultibase":"z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi","secretKeyMultibase":"zrv2bqTbNwCTsRrHFcJCPjVAduh4Ezcnoq1A3ZxH1GWTNkxipLVuaAoMFmze2gFN9oNXfJjufxSHWVZzsJiUsMHFMcx"}`))
	f.Add([]byte(`{"publicKeyMultibase":"zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"}`))
	f.Add([]byte(`{"kty":"oct","k":"AAAA"}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----"))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyFile(data)
		if err != nil {
			if k != nil {
				t.Fatal("non-nil key with an error")
			}
			if !strings.HasPrefix(err.Error(), "keys: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		checkParsed(t, k)
	})
}

func FuzzDecodePublicKeyMultibase(f *testing.F) {
	f.Add("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
	f.Add("zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv")
	f.Add("zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169")
	f.Add("z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9")
	f.Add("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
	f.Add("z")
	f.Add("")
	f.Add("m")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DecodePublicKeyMultibase(s)
		if err != nil {
			return
		}
		// Multibase values are canonical: re-encoding gives s back.
		if got := k.PublicKeyMultibase(); got != s {
			t.Fatalf("re-encoded %q as %q", s, got)
		}
		checkParsed(t, k)
	})
}

func FuzzResolveDIDKey(f *testing.F) {
	for _, v := range ed25519DIDVectors {
		f.Add(v.did)
	}
	for _, v := range p256Vectors {
		f.Add(v.did)
		f.Add(v.did + "#" + strings.TrimPrefix(v.did, "did:key:"))
	}
	f.Add("did:key:")
	f.Add("did:key:z6Mk#")
	f.Add("did:web:example.edu")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ResolveDIDKey(s)
		if err != nil {
			return
		}
		did, _, _ := strings.Cut(s, "#")
		if k.DIDKey() != did {
			t.Fatalf("resolved %q to %q", s, k.DIDKey())
		}
		if s != did && s != k.DIDKeyVerificationMethod() {
			t.Fatalf("accepted verification method %q", s)
		}
		if _, err := DIDKeyDocument(s); err != nil {
			t.Fatal(err)
		}
	})
}
