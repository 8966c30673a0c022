package jsonld

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func readJSON(t testing.TB, p string) any {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func newCanon(t testing.TB) *Canonicalizer {
	t.Helper()
	l, err := NewLoader()
	if err != nil {
		t.Fatal(err)
	}
	return NewCanonicalizer(l, DefaultLimits)
}

var vectorDir = filepath.Join("..", "testdata", "vectors")

func BenchmarkCanonicalizeOB(b *testing.B) {
	c := newCanon(b)
	doc := readJSON(b, filepath.Join(vectorDir, "ob3-impl-guide", "unsigned-credential.json"))
	for b.Loop() {
		if _, err := c.Canonicalize(doc); err != nil {
			b.Fatal(err)
		}
	}
}
