package vcjwt

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

func addTokenSeeds(f *testing.F) {
	for _, tok := range officialTokens(f) {
		f.Add(tok)
	}
	f.Add("")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
}

func FuzzParse(f *testing.F) {
	addTokenSeeds(f)
	f.Fuzz(func(t *testing.T, token string) {
		header, payload, err := Parse(token)
		looks := LooksLikeJWS([]byte(token))
		if err != nil {
			if looks {
				t.Fatalf("LooksLikeJWS true but Parse failed: %v", err)
			}
			return
		}
		if header == nil || len(payload) == 0 {
			t.Fatalf("Parse succeeded with header %v, payload %q", header, payload)
		}
	})
}

func FuzzVerify(f *testing.F) {
	addTokenSeeds(f)
	key := newP256(f)
	tok, err := Sign(readFile(f, unsignedVector), key, SignOptions{EmbedJWK: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Fuzz(func(t *testing.T, token string) {
		res, err := Verify(context.Background(), token, EmbeddedKeyResolver{}, nil)
		if err != nil {
			return
		}
		if !json.Valid(res.Credential) || !json.Valid(res.Payload) {
			t.Fatalf("verified token yields invalid JSON: %s", res.Credential)
		}
	})
}

// FuzzSign checks that whatever Sign accepts, Verify accepts too and hands
// back the same members.
func FuzzSign(f *testing.F) {
	f.Add(readFile(f, unsignedVector))
	f.Add([]byte(`{"id":"urn:uuid:1","issuer":"https://example.edu","validFrom":"2024-01-01T00:00:00Z","credentialSubject":[{"id":"x"}]}`))
	f.Add([]byte(`{"id":"a\u0000","issuer":{"id":"\ud800"},"validFrom":"2024-01-01T00:00:00.123+01:00","validUntil":"2124-01-01T00:00:00Z","credentialSubject":{"id":""}}`))
	key := newP256(f)
	r := staticResolver(testKID, key.Public())
	f.Fuzz(func(t *testing.T, cred []byte) {
		tok, err := Sign(cred, key, SignOptions{KeyID: testKID})
		if err != nil {
			return
		}
		res, err := Verify(context.Background(), tok, r, nil)
		if err != nil {
			t.Fatalf("Sign accepted %q but Verify refuses its token: %v", cred, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, cred); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(res.Credential, compact.Bytes()) {
			t.Fatalf("credential changed:\n got %s\nwant %s", res.Credential, compact.Bytes())
		}
	})
}

// FuzzCompactJSON holds compactJSON to json.Compact: same verdict, same bytes.
func FuzzCompactJSON(f *testing.F) {
	f.Add(readFile(f, unsignedVector))
	for _, s := range []string{`{}`, `[]`, ` 1 `, `-0.5e+7`, `01`, `1.`, `"\u00e9\/"`, `{"a":[true,false,null]}`, `[1,]`, `{"a" 1}`, "\"\x01\"", `"\x"`, `tru`, `[[[]]]`, `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := compactJSON(nil, in)
		var want bytes.Buffer
		werr := json.Compact(&want, in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("compactJSON err = %v, json.Compact err = %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("compactJSON = %q, json.Compact = %q", got, want.Bytes())
		}
	})
}
