package badges

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

func decodeTestdata(t testing.TB, rel string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, rel), &m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return m
}

func TestSchemaAcceptsGoldenCredentials(t *testing.T) {
	s := mustSchemas(t)
	for _, rel := range []string{
		"vectors/ob3-impl-guide/unsigned-credential.json",
		"examples/1edtech-validator-ob30/simple.json",
		"examples/1edtech-validator-ob30/simple-context-version.json",
		"examples/1edtech-validator-ob30/simple-context-alias.json",
		"examples/1edtech-validator-ob30/simple-did-key-method.json",
		"examples/1edtech-validator-ob30/simple-multiple-proofs.json",
		"examples/1edtech-validator-ob30/endorsement-valid.json",
		"vectors/clr2-impl-guide/signed-credential.json",
	} {
		if err := s.ValidateCredential(readTestdata(t, rel)); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
}

// The official validator's negative examples. Each breaks one thing, named
// by its file; want is the JSON pointer where the schema must report it, or
// "" when the defect is not a schema matter (another check must catch it).
// All of them also carry `proof` as a single object, which this schema (it
// wants an array) reports too, so rejection alone proves nothing: the
// violation must be at the right place.
func TestSchemaRejectsValidatorErrorExamples(t *testing.T) {
	s := mustSchemas(t)
	tests := []struct {
		file string
		want string
	}{
		{"simple-err-type.json", "/type"},
		{"simple-err-issuer-type.json", "/issuer/type"},
		{"simple-err-credential-subject-type.json", "/credentialSubject/type"},
		{"simple-err-credential-subject-profile-type.json", "/credentialSubject/source/type"},
		{"simple-err-credential-subject-achievement-result-description-type.json", "/credentialSubject/achievement/resultDescription/2/type"},
		{"simple-err-issuer-otheridentifier-type.json", "/issuer/otherIdentifier/1/type"},
		{"simple-err-issuer-parentorg-type.json", "/issuer/parentOrg/type"},
		{"simple-err-credential-subject-identifier-type.json", "/credentialSubject/identifier/0/type"},
		{"simple-err-context.json", "/@context/0"},
		// validFrom in the future: a date check, not a schema one.
		{"simple-err-issued.json", ""},
		// VCDM 1.1 endorsement (issuanceDate, 2018/credentials/v1).
		{"endorsement-err-schema-status-refresh.json", "/@context/0"},
	}
	for _, tt := range tests {
		err := s.ValidateCredential(readTestdata(t, "examples/1edtech-validator-ob30/"+tt.file))
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a *SchemaError", tt.file, err)
			continue
		}
		var at []string
		for _, v := range se.Violations {
			at = append(at, v.Pointer)
		}
		if tt.want == "" {
			if slices.Contains(at, "/validFrom") {
				t.Errorf("%s: schema reports /validFrom: %v", tt.file, err)
			}
			t.Logf("%s: not a schema defect; schema reports only %v", tt.file, at)
			continue
		}
		if !slices.Contains(at, tt.want) {
			t.Errorf("%s: no violation at %s: %v", tt.file, tt.want, err)
		}
		if !strings.Contains(err.Error(), tt.want+": ") || strings.Contains(err.Error(), "/issuer: got object") {
			t.Errorf("%s: message does not name %s: %v", tt.file, tt.want, err)
		}
	}
}

func TestSchemaRejectsMutations(t *testing.T) {
	s := mustSchemas(t)
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"no validFrom", func(m map[string]any) { delete(m, "validFrom") }, ""},
		{"bad validFrom", func(m map[string]any) { m["validFrom"] = "2010-01-01" }, "/validFrom"},
		{"image type array", func(m map[string]any) {
			m["image"] = map[string]any{"id": "https://x.example/i.png", "type": []any{"Image"}}
		}, "/image/type"},
		{"image extra property", func(m map[string]any) {
			m["image"] = map[string]any{"id": "https://x.example/i.png", "type": "Image", "alt": "x"}
		}, "/image"},
		{"achievementType", func(m map[string]any) {
			m["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["achievementType"] = "Formation"
		}, "/credentialSubject/achievement/achievementType"},
		{"context ob version", func(m map[string]any) {
			m["@context"] = []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-4.json"}
		}, "/@context/1"},
		{"hashed missing", func(m map[string]any) {
			m["credentialSubject"].(map[string]any)["identifier"] = []any{map[string]any{
				"type": "IdentityObject", "identityHash": "x", "identityType": "emailAddress"}}
		}, "/credentialSubject/identifier/0"},
	}
	for _, tt := range tests {
		m := decodeTestdata(t, "vectors/ob3-impl-guide/unsigned-credential.json")
		tt.mutate(m)
		err := s.ValidateCredential(m)
		var se *SchemaError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if !slices.ContainsFunc(se.Violations, func(v Violation) bool { return v.Pointer == tt.want }) {
			t.Errorf("%s: no violation at %q: %v", tt.name, tt.want, err)
		}
	}
}

func TestSchemaCLRVersions(t *testing.T) {
	s := mustSchemas(t)
	clr := decodeTestdata(t, "vectors/clr2-impl-guide/signed-credential.json")
	// VCDM 2.0: validFrom is required, where the 1EdTech draft-04 schema
	// (written for VCDM 1.1) requires issuanceDate.
	delete(clr, "validFrom")
	err := s.ValidateCredential(clr)
	if err == nil || !strings.Contains(err.Error(), "validFrom") {
		t.Errorf("CLR without validFrom: %v", err)
	}
	clr["issuanceDate"] = "2010-01-01T00:00:00Z"
	clr["@context"] = []any{"https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/clr/v2p0/context.json", "https://purl.imsglobal.org/spec/ob/v3p0/context.json"}
	// VCDM 1.1 nested credentials need issuanceDate too.
	for _, vc := range clr["credentialSubject"].(map[string]any)["verifiableCredential"].([]any) {
		vc.(map[string]any)["issuanceDate"] = "2010-01-01T00:00:00Z"
	}
	if err := s.ValidateCredential(clr); err != nil {
		t.Errorf("VCDM 1.1 CLR: %v", err)
	}
	delete(clr, "issuanceDate")
	if err := s.ValidateCredential(clr); err == nil || !strings.Contains(err.Error(), "issuanceDate") {
		t.Errorf("VCDM 1.1 CLR without issuanceDate: %v", err)
	}
}

func TestSchemaOffline(t *testing.T) {
	s := mustSchemas(t)
	doc := readTestdata(t, "examples/1edtech-validator-ob30/simple.json")
	if err := s.ValidateWithSchema(SchemaAchievementCredential, doc); err != nil {
		t.Errorf("canonical id: %v", err)
	}
	if err := s.ValidateWithSchema(schemaOBJSONLD, doc); err != nil {
		t.Errorf("json-ld id: %v", err)
	}
	if err := s.ValidateWithSchema("https://state.gov/schema/endorsementcredential.json", doc); !errors.Is(err, ErrUnknownSchema) {
		t.Errorf("unknown schema: %v", err)
	}
	if _, err := (offlineLoader{}).Load("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_profile_schema.json"); err == nil {
		t.Error("loader fetched a remote schema")
	}
	if err := s.ValidateCredential([]byte("{")); err == nil {
		t.Error("broken JSON accepted")
	}
	if err := s.ValidateCredential([]byte("[]")); err == nil {
		t.Error("array accepted as a credential")
	}
}

// The builder's enumerations are the schema's, so that it refuses exactly
// what the schema would.
func TestBuilderEnumsMatchSchema(t *testing.T) {
	var sch map[string]any
	b, err := schemaFiles.ReadFile("schema/ob_v3p0_achievementcredential_schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sch); err != nil {
		t.Fatal(err)
	}
	defs := sch["$defs"].(map[string]any)
	enum := func(def, prop string) []string {
		p := defs[def].(map[string]any)["properties"].(map[string]any)[prop].(map[string]any)
		if one, ok := p["oneOf"].([]any); ok {
			p = one[0].(map[string]any)
		}
		var out []string
		for _, v := range p["enum"].([]any) {
			out = append(out, v.(string))
		}
		sort.Strings(out)
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	for _, c := range []struct {
		def, prop string
		got       []string
	}{
		{"Achievement", "achievementType", achievementTypes()},
		{"Alignment", "targetType", alignmentTargetTypes()},
		{"IdentifierEntry", "identifierType", identifierTypes()},
		{"IdentityObject", "identityType", identifierTypes()},
		{"ResultDescription", "resultType", resultTypes()},
		{"Result", "status", resultStatuses()},
	} {
		if want := enum(c.def, c.prop); !slices.Equal(sorted(c.got), want) {
			t.Errorf("%s.%s: builder %v, schema %v", c.def, c.prop, sorted(c.got), want)
		}
	}
}

func TestSchemasConcurrent(t *testing.T) {
	s := mustSchemas(t)
	good := decodeTestdata(t, "examples/1edtech-validator-ob30/simple.json")
	bad := decodeTestdata(t, "examples/1edtech-validator-ob30/simple-err-issuer-type.json")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := s.ValidateCredential(good); err != nil {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
				if err := s.ValidateCredential(bad); err == nil {
					t.Errorf("goroutine %d: bad credential accepted", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkSchemaValidate(b *testing.B) {
	s := mustSchemas(b)
	c, err := BuildAchievementCredential(fullParams(b))
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(c)
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	b.Run("decoded", func(b *testing.B) {
		for b.Loop() {
			if err := s.ValidateCredential(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			if err := s.ValidateCredential(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBuildAchievementCredential(b *testing.B) {
	p := fullParams(b)
	p.Salt = ""
	for b.Loop() {
		if _, err := BuildAchievementCredential(p); err != nil {
			b.Fatal(err)
		}
	}
}
