package vcjwt

import (
	"context"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func BenchmarkSignJWT(b *testing.B) {
	cred := readFile(b, unsignedVector)
	key := newP256(b)
	opts := SignOptions{KeyID: testKID}
	b.SetBytes(int64(len(cred)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(cred, key, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignJWTEdDSA(b *testing.B) {
	cred := readFile(b, unsignedVector)
	key := newEd25519(b)
	opts := SignOptions{Alg: jose.EdDSA, KeyID: testKID}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(cred, key, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyJWT(b *testing.B) {
	key := newP256(b)
	tok, err := Sign(readFile(b, unsignedVector), key, SignOptions{KeyID: testKID})
	if err != nil {
		b.Fatal(err)
	}
	r := staticResolver(testKID, key.Public())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(ctx, tok, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildJWT isolates the non-cryptographic part of Sign (payload and
// header building, base64), which is what this package controls.
func BenchmarkBuildJWT(b *testing.B) {
	cred := readFile(b, unsignedVector)
	pub := newP256(b).Public()
	opts := SignOptions{KeyID: testKID}
	b.ReportAllocs()
	for b.Loop() {
		h, err := signingHeader(jose.ES256, pub, opts)
		if err != nil {
			b.Fatal(err)
		}
		p, err := credentialPayload(cred)
		if err != nil {
			b.Fatal(err)
		}
		_ = b64.AppendEncode(b64.AppendEncode(nil, h), p)
	}
}
