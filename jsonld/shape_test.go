package jsonld

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// shapeDoc is a credential with the parts a bulk award varies: the
// OB 3.0 implementation guide's credential with an identity object, a
// status entry and two pieces of evidence added.
func shapeDoc(t testing.TB) map[string]any {
	t.Helper()
	doc := readJSON(t, filepath.Join(vectorDir, "ob3-impl-guide", "unsigned-credential.json")).(map[string]any)
	doc["id"] = "urn:uuid:0b9d4b1e-7c1d-4c36-a3a4-2f1f3f1d9a10"
	subj := doc["credentialSubject"].(map[string]any)
	subj["identifier"] = []any{map[string]any{"type": "IdentityObject", "hashed": true,
		"identityHash": "sha256$2f6f4b6e", "identityType": "emailAddress", "salt": "s1"}}
	doc["credentialStatus"] = map[string]any{"id": "https://example.edu/status/1#94567", "type": "BitstringStatusListEntry",
		"statusPurpose": "revocation", "statusListIndex": "94567", "statusListCredential": "https://example.edu/status/1"}
	doc["evidence"] = []any{
		map[string]any{"type": []any{"Evidence"}, "narrative": "Shared by every credential."},
		map[string]any{"id": "https://lms.example.fr/course/view.php?id=42", "type": []any{"Evidence"}, "name": "Cours 42", "narrative": "Suivi le 3 mars."},
	}
	return doc
}

var shapePaths = [][]any{
	{"id"},
	{"credentialSubject", "id"},
	{"credentialSubject", "identifier", 0, "identityHash"},
	{"credentialSubject", "identifier", 0, "salt"},
	{"credentialStatus", "id"},
	{"credentialStatus", "statusListIndex"},
	{"credentialStatus", "statusListCredential"},
	{"evidence", 1, "id"},
	{"evidence", 1, "name"},
	{"evidence", 1, "narrative"},
}

// withValues returns a copy of doc with the strings at shapePaths set.
func withValues(t testing.TB, doc map[string]any, vals []string) map[string]any {
	t.Helper()
	out := cloneJSON(t, doc).(map[string]any)
	for i, p := range shapePaths {
		var v any = out
		for _, step := range p[:len(p)-1] {
			switch k := step.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		switch k := p[len(p)-1].(type) {
		case string:
			v.(map[string]any)[k] = vals[i]
		case int:
			v.([]any)[k] = vals[i]
		}
	}
	return out
}

// checkShape canonicalizes doc through the shape and in full; they must
// agree whenever the shape answers. It reports whether the shape answered.
func checkShape(t testing.TB, c *Canonicalizer, s *Shape, doc map[string]any) bool {
	t.Helper()
	got, ok := s.Canonicalize(doc)
	want, err := c.canonicalizeReference(cloneJSON(t, doc))
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("the shape canonicalized a document the reference path refuses (%v)", err)
	}
	if got != want {
		t.Fatalf("shape and reference differ\n--- reference\n%s--- shape\n%s", want, got)
	}
	return true
}

func sampleValues(i int) []string {
	return []string{
		fmt.Sprintf("urn:uuid:8a1c0c8e-51b5-4a0f-9e0f-%012d", i),
		fmt.Sprintf("did:example:learner%d", i),
		fmt.Sprintf("sha256$%064x", i*7919),
		fmt.Sprintf("salt%d", i),
		fmt.Sprintf("https://example.edu/status/1#%d", i),
		fmt.Sprint(i),
		"https://example.edu/status/1",
		fmt.Sprintf("https://lms.example.fr/course/view.php?id=%d", i%5),
		fmt.Sprintf("Cours %d", i%5),
		fmt.Sprintf("Suivi le %d mars, \"durée\" 2 h\n(à distance)", i%28+1),
	}
}

func TestShapeMatchesReference(t *testing.T) {
	c := newCanon(t)
	base := shapeDoc(t)
	s, err := c.NewShape(base, shapePaths)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if !checkShape(t, c, s, withValues(t, base, sampleValues(i))) {
			t.Fatalf("credential %d: the shape did not answer for an ordinary credential", i)
		}
	}
}

// Values the shape must refuse or get right, however odd: each is tried in
// each hole, and the shape's answer (when it gives one) must be the
// reference path's.
func TestShapeOddValues(t *testing.T) {
	c := newCanon(t)
	base := shapeDoc(t)
	s, err := c.NewShape(base, shapePaths)
	if err != nil {
		t.Fatal(err)
	}
	odd := []string{
		"", "relative/path", "_:b0", "@id", "@type", "id", "type", "name", "xsd:string", "schema:name",
		"https://example.com/achievements/21st-century-skills/teamwork", // a constant node of the template
		"https://example.edu/issuers/565049",
		"http://example.com/credentials/3527",
		"https:no-slashes", "https://bad host/x", "http://[::1", "did:example:ebfeb1f712ebc6f1c276e12ec21",
		"urn:uuid:8a1c0c8e-51b5-4a0f-9e0f-000000000001", "with\x01control", "tab\tand\u2028line",
		"Shared by every credential.", "Cours 1", "94567", "s1",
	}
	answered := 0
	for h := range shapePaths {
		for _, v := range odd {
			vals := sampleValues(1)
			vals[h] = v
			if checkShape(t, c, s, withValues(t, base, vals)) {
				answered++
			}
		}
	}
	// Two holes holding the same value.
	vals := sampleValues(2)
	vals[7] = vals[0]
	checkShape(t, c, s, withValues(t, base, vals))
	vals = sampleValues(2)
	vals[8], vals[9] = "même", "même"
	checkShape(t, c, s, withValues(t, base, vals))
	if answered == 0 {
		t.Fatal("the shape refused every odd value: the test checks nothing")
	}
}

// A document that differs from the template outside the holes is never
// canonicalized through the shape.
func TestShapeRefusesOtherDocuments(t *testing.T) {
	c := newCanon(t)
	base := shapeDoc(t)
	s, err := c.NewShape(base, shapePaths)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func(d map[string]any){
		"name":           func(d map[string]any) { d["name"] = "Autre" },
		"extra member":   func(d map[string]any) { d["description"] = "x" },
		"missing member": func(d map[string]any) { delete(d, "validFrom") },
		"hole not a string": func(d map[string]any) {
			d["credentialStatus"].(map[string]any)["statusListIndex"] = 3.0
		},
		"longer array": func(d map[string]any) {
			d["evidence"] = append(d["evidence"].([]any), map[string]any{"type": []any{"Evidence"}, "narrative": "plus"})
		},
		"context": func(d map[string]any) { d["@context"] = []any{"https://www.w3.org/ns/credentials/v2"} },
	}
	for name, change := range changes {
		doc := withValues(t, base, sampleValues(3))
		change(doc)
		if _, ok := s.Canonicalize(doc); ok {
			t.Errorf("%s: the shape answered for a document it was not made for", name)
		}
	}
}

func TestNewShapeRefusals(t *testing.T) {
	c := newCanon(t)
	base := shapeDoc(t)
	for name, paths := range map[string][][]any{
		"not a string":      {{"credentialSubject"}},
		"missing":           {{"nope"}},
		"out of range":      {{"evidence", 5, "id"}},
		"type (a keyword)":  {{"credentialStatus", "type"}},
		"a bad path step":   {{"evidence", 1.0}},
		"not in statements": {{"@context", 0}},
	} {
		if _, err := c.NewShape(base, paths); err == nil {
			t.Errorf("%s: NewShape accepted %v", name, paths)
		}
	}
}

func FuzzShapeMatchesReference(f *testing.F) {
	for i := range 3 {
		f.Add(i%len(shapePaths), sampleValues(i)[i])
	}
	f.Add(0, "https://example.edu/issuers/565049")
	f.Add(7, "_:b1")
	c := newCanon(f)
	base := shapeDoc(f)
	s, err := c.NewShape(base, shapePaths)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h int, v string) {
		if h < 0 || !strings.ContainsRune(v, 0) && len(v) > 200 {
			return
		}
		vals := sampleValues(rand.IntN(100))
		vals[h%len(vals)] = v
		checkShape(t, c, s, withValues(t, base, vals))
	})
}

func BenchmarkShape(b *testing.B) {
	c := newCanon(b)
	base := shapeDoc(b)
	s, err := c.NewShape(base, shapePaths)
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]map[string]any, 64)
	for i := range docs {
		docs[i] = withValues(b, base, sampleValues(i))
	}
	b.Run("shape", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := s.Canonicalize(docs[i%len(docs)]); !ok {
				b.Fatal("not answered")
			}
			i++
		}
	})
	b.Run("full", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := c.Canonicalize(docs[i%len(docs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
