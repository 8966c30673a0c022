package badges_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
)

var examplesDir = filepath.Join("..", "testdata", "examples", "1edtech-validator-ob30")

func canonicalizer(t testing.TB) *jsonld.Canonicalizer {
	t.Helper()
	l, err := jsonld.NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
}

func schemas(t testing.TB) *badges.Schemas {
	t.Helper()
	s, err := badges.NewSchemas()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// docs is a fake network: URL → document.
type docs map[string][]byte

func (d docs) FetchDocument(_ context.Context, url, _ string) ([]byte, error) {
	if b, ok := d[url]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("fetch %s: 404 not found", url)
}

// controllerDoc is what an issuer publishes at its id: a controller
// document listing its key for assertions.
func controllerDoc(t testing.TB, controller string, multibase ...string) []byte {
	t.Helper()
	var methods, assertion []any
	for _, mb := range multibase {
		vm := controller + "#" + mb
		methods = append(methods, map[string]any{"id": vm, "type": "Multikey", "controller": controller, "publicKeyMultibase": mb})
		assertion = append(assertion, vm)
	}
	b, err := json.Marshal(map[string]any{
		"@context":           []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		"id":                 controller,
		"verificationMethod": methods,
		"assertionMethod":    assertion,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const obKey = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"

// exampleNetwork publishes the example issuers' keys, a 1EdTech revocation
// list that revokes credential-status-revoked.json, and the official
// Bitstring status list.
func exampleNetwork(t testing.TB) docs {
	t.Helper()
	testlist, err := os.ReadFile(filepath.Join(examplesDir, "bit-string-list", "testlist"))
	if err != nil {
		t.Fatal(err)
	}
	return docs{
		"https://example.com/issuers/876543": controllerDoc(t, "https://example.com/issuers/876543", obKey,
			"z6MknNHHrBzPytzu6CUBP9Lg7fg4KSBjzimc2Frh693YbMiv", "z6MkrvfzkMnvCroEUP2DVc9SHPE48CRsvHiVSusHioxTYu1x"),
		"https://state.gov/issuers/565049": controllerDoc(t, "https://state.gov/issuers/565049", "z6MkoMGF38Ck9xkdqrbZt4h9eHb1qc3GhAAkoSWa4Vy3SHRN"),
		// did:web:dc.1edtech.org:wellspring2022:wellspring-portal:org:da1e… resolves here (did:web §3.2).
		"https://dc.1edtech.org/wellspring2022/wellspring-portal/org/da1e96e9-afcc-4eed-b9a2-2ddf7353214c/did.json": controllerDoc(t,
			"did:web:dc.1edtech.org:wellspring2022:wellspring-portal:org:da1e96e9-afcc-4eed-b9a2-2ddf7353214c", obKey),
		"https://1edtech.edu/issuers/565049": controllerDoc(t, "https://1edtech.edu/issuers/565049", obKey, "zDnaekGZTbQBerwcehBSXLqAg6s55hVEBms1zFy89VHXtJSa9"),
		"https://dc.1edtech.org/wellspring2022/wellspring-portal/api/revocations/da1e96e9-afcc-4eed-b9a2-2ddf7353214c": []byte(
			`{"revokedCredential":[{"id":"https://dc.1edtech.org/wellspring2022/wellspring-portal/credential/54418d3f-ec01-4652-800a-861c890a51a1","revoked":true,"revocationReason":"Issued in error"}]}`),
		"https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist": testlist,
	}
}

type expectation struct {
	online  badges.Verdict // with the fake network
	offline badges.Verdict
	failing string // for invalid: the check that must fail
}

// The verdicts of ../testdata/examples/README.md. Offline, a key that only
// the credential ties to its issuer and a status list that needs the
// network are warnings: the credential is valid but not confirmed.
var exampleVerdicts = map[string]expectation{
	"simple.json":                                                            {badges.Valid, badges.Warnings, ""},
	"endorsement-valid.json":                                                 {badges.Valid, badges.Warnings, ""},
	"simple-context-version.json":                                            {badges.Valid, badges.Warnings, ""},
	"simple-context-alias.json":                                              {badges.Valid, badges.Warnings, ""},
	"simple-did-key-method.json":                                             {badges.Warnings, badges.Warnings, ""}, // bare did:key: valid, nothing binds it to the issuer
	"simple-eddsa-2022.json":                                                 {badges.Valid, badges.Warnings, ""},
	"simple_v1.json":                                                         {badges.Valid, badges.Warnings, ""},
	"simple-multiple-proofs.json":                                            {badges.Valid, badges.Warnings, ""},
	"credential-status-revoked.json":                                         {badges.Invalid, badges.Invalid, "status"},
	"bit-string-list/credential-status-revoked.json":                         {badges.Invalid, badges.Warnings, "status"},
	"simple-err-context.json":                                                {badges.Invalid, badges.Invalid, "context"},
	"simple-err-type.json":                                                   {badges.Invalid, badges.Invalid, "type"},
	"simple-err-issuer-type.json":                                            {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-issuer-otheridentifier-type.json":                            {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-issuer-parentorg-type.json":                                  {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-credential-subject-type.json":                                {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-credential-subject-profile-type.json":                        {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-credential-subject-identifier-type.json":                     {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-credential-subject-achievement-result-description-type.json": {badges.Invalid, badges.Invalid, "schema"},
	"simple-err-issued.json":                                                 {badges.Invalid, badges.Invalid, "valid-from"},
	"simple-err-proof-method.json":                                           {badges.Invalid, badges.Invalid, "proof"},
	"simple-err-proof-method-no-scheme.json":                                 {badges.Invalid, badges.Invalid, "proof"},
	"simple-err-proof-method-unknown-did-method.json":                        {badges.Invalid, badges.Invalid, "proof"},
	"simple-err-proof-method-unknown-scheme.json":                            {badges.Invalid, badges.Invalid, "proof"},
	"simple-noproof.json":                                                    {badges.Invalid, badges.Invalid, "proof"},
	"endorsement-err-schema-status-refresh.json":                             {badges.Invalid, badges.Invalid, "proof"},
	"simple.jwt":      {badges.Invalid, badges.Invalid, "proof"}, // no kid, no jwk: the key cannot be found
	"simple-json.png": {badges.Valid, badges.Warnings, ""},
	"simple-json.svg": {badges.Valid, badges.Warnings, ""},
	// RS256 tokens with the key embedded in the header: the signature is
	// valid, nothing ties the key to the issuer.
	"simple-jwt.png":    {badges.Warnings, badges.Warnings, ""},
	"simple-jwt.svg":    {badges.Warnings, badges.Warnings, ""},
	"simple-jwt_v1.png": {badges.Warnings, badges.Warnings, ""},
	"simple-jwt_v1.svg": {badges.Warnings, badges.Warnings, ""},
	// ecdsa-sd-2023 derived (selectively disclosed) credential.
	"sd/derivedcredential.json": {badges.Valid, badges.Warnings, ""},
}

func TestOfficialExamples(t *testing.T) {
	c, s := canonicalizer(t), schemas(t)
	online := badges.NewVerifier(badges.VerifierConfig{Schemas: s, Canon: c, Docs: exampleNetwork(t)})
	offline := badges.NewVerifier(badges.VerifierConfig{Schemas: s, Canon: c})
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for name, want := range exampleVerdicts {
		t.Run(name, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join(examplesDir, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []struct {
				v    *badges.Verifier
				want badges.Verdict
				name string
			}{{online, want.online, "online"}, {offline, want.offline, "offline"}} {
				r, err := mode.v.Verify(context.Background(), input, badges.Options{At: at})
				if err != nil {
					t.Fatalf("%s: unusable: %v", mode.name, err)
				}
				if r.Verdict != mode.want {
					t.Errorf("%s: verdict %s, want %s; checks: %s", mode.name, r.Verdict, mode.want, checks(r))
					continue
				}
				if want.failing != "" && mode.want == badges.Invalid && (mode.name == "online" || want.failing != "status") {
					if c, ok := r.Check(want.failing); !ok || c.OK {
						t.Errorf("%s: check %q did not fail; checks: %s", mode.name, want.failing, checks(r))
					}
				}
				if mode.want != badges.Invalid {
					if c, ok := r.Check("proof"); !ok || !c.OK {
						t.Errorf("%s: proof check not passed: %s", mode.name, checks(r))
					}
				}
			}
		})
	}
}

func TestExampleRevocationIsReported(t *testing.T) {
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas(t), Canon: canonicalizer(t), Docs: exampleNetwork(t)})
	for _, name := range []string{"credential-status-revoked.json", "bit-string-list/credential-status-revoked.json"} {
		input, _ := os.ReadFile(filepath.Join(examplesDir, name))
		r, _ := v.Verify(context.Background(), input, badges.Options{})
		if r.Status != "revoked" {
			t.Errorf("%s: status %q, want revoked; %s", name, r.Status, checks(r))
		}
	}
}

func checks(r *badges.Report) string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n  %s ok=%v warning=%v: %s", c.Name, c.OK, c.Warning, c.Message)
	}
	return b.String()
}

func TestUnusableInput(t *testing.T) {
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas(t), Canon: canonicalizer(t)})
	for name, input := range map[string]string{
		"empty":       "",
		"not json":    "{nope",
		"json array":  "[1,2]",
		"text":        "hello world",
		"png unbaked": "\x89PNG\r\n\x1a\n",
		"svg unbaked": `<svg xmlns="http://www.w3.org/2000/svg"></svg>`,
		"foreign pdf": "%PDF-1.4\n",
		"bad jws":     "a.b.c",
	} {
		r, err := v.Verify(context.Background(), []byte(input), badges.Options{})
		if !errors.Is(err, badges.ErrUnusableInput) && (r == nil || r.Verdict != badges.Invalid) {
			t.Errorf("%s: err = %v, verdict %v", name, err, r.Verdict)
		}
		if r == nil || len(r.Checks) == 0 {
			t.Errorf("%s: no report", name)
		}
	}
}

// A credential built and signed by Insigne verifies, and every kind of
// tampering is caught by the check that should catch it.
func TestIssuedCredentialAndTampering(t *testing.T) {
	c, s := canonicalizer(t), schemas(t)
	k, err := keys.Generate(keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	issuerID := "https://insigne.example/issuers/ac-lyon"
	vm := issuerID + "#" + k.PublicKeyMultibase()
	until := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cred, err := badges.BuildAchievementCredential(badges.AwardParams{
		Issuer: badges.Profile{ID: issuerID, Type: []string{"Profile"}, Name: "Académie de Lyon"},
		Achievement: badges.Achievement{
			ID: "https://insigne.example/achievements/1", Type: []string{"Achievement"},
			Name: "Concevoir une séquence", Description: "Conçoit et met en œuvre une séquence.",
			Criteria: &badges.Criteria{Narrative: "Parcours terminé."},
		},
		Recipient:  badges.Recipient{Email: "Claire.Martin@ac-lyon.fr"},
		ValidFrom:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		ValidUntil: &until,
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cred)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	signed, err := dataintegrity.Sign(c, doc, k.Private.(ed25519.PrivateKey), dataintegrity.Options{VerificationMethod: vm})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(signed)
	network := docs{issuerID: controllerDoc(t, issuerID, k.PublicKeyMultibase())}
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: s, Canon: c, Docs: network})
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

	r, err := v.Verify(context.Background(), good, badges.Options{At: at})
	if err != nil || r.Verdict != badges.Valid {
		t.Fatalf("verdict %v, err %v: %s", r.Verdict, err, checks(r))
	}

	cases := []struct {
		name, failing string
		at            time.Time
		edit          func(m map[string]any)
	}{
		{"expired", "valid-until", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"not yet valid", "valid-from", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"name changed", "proof", at, func(m map[string]any) { m["name"] = "Autre badge" }},
		{"validUntil removed", "proof", at, func(m map[string]any) { delete(m, "validUntil") }},
		{"no recipient", "subject", at, func(m map[string]any) {
			delete(m["credentialSubject"].(map[string]any), "identifier")
		}},
		{"undefined property", "proof", at, func(m map[string]any) { m["unknownTerm"] = "x" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(good, &m)
			if tc.edit != nil {
				tc.edit(m)
			}
			b, _ := json.Marshal(m)
			r, err := v.Verify(context.Background(), b, badges.Options{At: tc.at})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != badges.Invalid {
				t.Fatalf("verdict %s: %s", r.Verdict, checks(r))
			}
			if c, ok := r.Check(tc.failing); !ok || c.OK {
				t.Errorf("check %q did not fail: %s", tc.failing, checks(r))
			}
		})
	}

	// Signed by a key whose controller is someone else: the proof holds,
	// the issuer check fails.
	intruder, _ := keys.Generate(keys.Ed25519)
	stolen, _ := dataintegrity.Sign(c, doc, intruder.Private.(ed25519.PrivateKey), dataintegrity.Options{VerificationMethod: "https://intruder.example/me#" + intruder.PublicKeyMultibase()})
	sb, _ := json.Marshal(stolen)
	r, _ = v.Verify(context.Background(), sb, badges.Options{At: at})
	if c, ok := r.Check("issuer"); r.Verdict != badges.Invalid || !ok || c.OK {
		t.Fatalf("key of another controller: verdict %s: %s", r.Verdict, checks(r))
	}

	// A key that the issuer does not publish: the signature holds, but the
	// issuer's documents do not confirm the key → warnings, not valid.
	other, _ := keys.Generate(keys.Ed25519)
	forged, _ := dataintegrity.Sign(c, doc, other.Private.(ed25519.PrivateKey), dataintegrity.Options{VerificationMethod: issuerID + "#" + other.PublicKeyMultibase()})
	fb, _ := json.Marshal(forged)
	r, _ = v.Verify(context.Background(), fb, badges.Options{At: at})
	if r.Verdict == badges.Valid {
		t.Fatalf("a key the issuer does not publish was accepted as valid: %s", checks(r))
	}
}

// Every example file has an expected verdict above.
func TestEveryExampleHasAVerdict(t *testing.T) {
	err := filepath.WalkDir(examplesDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(examplesDir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasPrefix(rel, "extracted/"), rel == "bit-string-list/testlist", rel == "simple.1ob":
			return nil // inputs of other tests, or the validator's own packaging
		}
		if _, ok := exampleVerdicts[rel]; !ok {
			t.Errorf("%s has no expected verdict", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
