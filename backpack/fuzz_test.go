package backpack

import (
	"context"
	"github.com/insigne/insigne/badges/bake"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func seedExamples(f *testing.F) {
	dir := filepath.Join("..", "testdata", "examples", "1edtech-validator-ob30")
	for _, n := range []string{"simple.json", "simple-json.svg", "extracted/simple-jwt.png.jws", "simple.jwt"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
	// Small baked images: the official ones are 84 KB of pixels, which
	// only slow the fuzzer down.
	if j, err := os.ReadFile(filepath.Join(dir, "simple.json")); err == nil {
		if p, err := bake.BakePNG(plainPNG(), j); err == nil {
			f.Add(p)
		}
	}
	f.Add([]byte(`{"@context":"https://w3id.org/openbadges/v2","type":"Assertion","id":"https://a.example/1","badge":"https://a.example/b","recipient":{"type":"email","identity":"a@b.c"},"verification":{"type":"hosted"},"issuedOn":"2024-01-01"}`))
	f.Add([]byte("https://a.example/assertions/1"))
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="https://a.example/1"/></svg>`))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x10iTXtopenbadges\x00\x01\x00\x00\x00x\x9c\x00\x00\x00\x00"))
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.eyJiYWRnZSI6IngiLCJyZWNpcGllbnQiOnt9fQ.c2ln"))
}

// FuzzSniff: import sniffing never panics, and anything it accepts is one
// of the formats with a payload.
func FuzzSniff(f *testing.F) {
	seedExamples(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		sn, err := Sniff(in)
		if err != nil {
			return
		}
		if sn.URL == "" && (sn.Format == "" || len(sn.Payload) == 0) {
			t.Fatalf("accepted without a format or payload: %+v", sn)
		}
	})
}

// FuzzOB2Assertion: the Open Badges 2.0 checks never panic on any
// assertion (JSON or JWS), with no network.
func FuzzOB2Assertion(f *testing.F) {
	seedExamples(f)
	f.Add([]byte(`{"id":"x","badge":{"name":"n","issuer":{"id":"i","publicKey":[{"id":"k"}]}},"recipient":{},"verification":{"type":"signed"},"issuedOn":"2024-01-01","expires":"2020-01-01","revoked":true}`))
	s := New(Config{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := s.verifyOB2(context.Background(), in, "")
		if err == nil && (v.report == nil || v.report.Verdict == "") {
			t.Fatal("no verdict")
		}
	})
}

// FuzzRecipientIdentities: reading the recipient of any credential or
// assertion never panics.
func FuzzRecipientIdentities(f *testing.F) {
	seedExamples(f)
	f.Add([]byte(`{"credentialSubject":{"identifier":{"identityType":"emailAddress","identityHash":"sha256$00","hashed":true,"salt":"s"}}}`))
	f.Add([]byte(`{"vc":{"credentialSubject":{"identifier":[{"identityType":"emailAddress","identityHash":"a@b.c"}]}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, id := range recipientIdentities(in) {
			if id.value == "" {
				t.Fatal("an empty identity")
			}
		}
	})
}
