package jsonld

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// testCase is one document to canonicalize: a credential (without its
// proof) or a proof configuration (proof without proofValue, plus the
// document's @context), as eddsa-rdfc-2022 builds them.
type testCase struct {
	name string
	doc  any
	// mustHandle: the fast path must not fall back for this input.
	mustHandle bool
}

var nonCredential = map[string]bool{
	"keypair.json": true, "keyPair.json": true, "proof-options.json": true,
}

func cloneJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// corpus builds the test cases from testdata/vectors and testdata/examples.
func corpus(t testing.TB) []testCase {
	t.Helper()
	var files []string
	for _, root := range []string{vectorDir, filepath.Join("..", "testdata", "examples")} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".json") && !nonCredential[d.Name()] {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	var cases []testCase
	for _, p := range files {
		raw := readJSON(t, p)
		m, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		// The employ vector needs a context that is not embedded: the
		// reference path refuses it, the fast path must fall back.
		// The ECDSA-SD vector uses the W3C examples context with @vocab,
		// which the fast path leaves to json-gold.
		must := !strings.Contains(p, "employ") && !strings.Contains(p, "vc-di-ecdsa-sd")
		name := strings.TrimPrefix(p, "../testdata/")
		cases = append(cases, testCase{name: name, doc: raw, mustHandle: must})
		proof, hasProof := m["proof"]
		if !hasProof {
			continue
		}
		unsigned := cloneJSON(t, m).(map[string]any)
		delete(unsigned, "proof")
		cases = append(cases, testCase{name: name + "#document", doc: unsigned, mustHandle: must})
		proofs, isList := proof.([]any)
		if !isList {
			proofs = []any{proof}
		}
		for i, pr := range proofs {
			pm, ok := cloneJSON(t, pr).(map[string]any)
			if !ok {
				continue
			}
			delete(pm, "proofValue")
			pm["@context"] = m["@context"]
			cases = append(cases, testCase{name: fmt.Sprintf("%s#proof%d", name, i), doc: pm, mustHandle: must})
		}
	}
	if len(cases) < 30 {
		t.Fatalf("only %d test cases found", len(cases))
	}
	return cases
}

// compare checks that Canonicalize (fast path with fallback) agrees with the
// reference path on doc, and reports whether the fast path handled it.
func compare(t testing.TB, c *Canonicalizer, doc any) (handled bool) {
	t.Helper()
	before, _ := json.Marshal(doc)
	want, wantErr := c.canonicalizeReference(cloneJSONOrNil(doc))
	fast, fastErr := c.canonicalizeFast(doc)
	handled = !errors.Is(fastErr, errNotHandled)
	got, gotErr := c.Canonicalize(doc)
	if after, _ := json.Marshal(doc); string(before) != string(after) {
		t.Fatalf("document modified")
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("error mismatch: reference %v, Canonicalize %v", wantErr, gotErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("error text mismatch:\nreference %v\nfast      %v", wantErr, gotErr)
		}
		if handled && fastErr == nil {
			t.Fatalf("fast path succeeded where the reference failed: %v", wantErr)
		}
		return handled
	}
	if got != want {
		t.Fatalf("output mismatch\n--- reference\n%s--- Canonicalize\n%s", want, got)
	}
	if handled && fast != want {
		t.Fatalf("fast output mismatch\n--- reference\n%s--- fast\n%s", want, fast)
	}
	return handled
}

func cloneJSONOrNil(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func TestFastMatchesReferenceCorpus(t *testing.T) {
	c := newCanon(t)
	for _, tc := range corpus(t) {
		t.Run(tc.name, func(t *testing.T) {
			handled := compare(t, c, tc.doc)
			if tc.mustHandle && !handled {
				_, err := c.canonicalizeFast(tc.doc)
				t.Fatalf("fast path fell back (%v)", err)
			}
			// Documents the reference accepts must also be expanded by
			// fast_expand.go, not by json-gold's expansion.
			before := c.fast.stage1.Load()
			if _, err := c.canonicalizeFast(tc.doc); err == nil && tc.mustHandle && c.fast.stage1.Load() != before {
				t.Fatalf("expansion fell back to json-gold")
			}
		})
	}
}

func readText(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPublishedCanonicalForms reproduces the N-Quads published with the
// vectors, byte for byte, through the fast path.
func TestPublishedCanonicalForms(t *testing.T) {
	c := newCanon(t)
	type pub struct{ signed, doc, proof string }
	for _, v := range []pub{
		{"ob3-impl-guide/signed-credential.json", "ob3-impl-guide/document-canon.nq", "ob3-impl-guide/proof-canon.nq"},
		{"clr2-impl-guide/signed-credential.json", "clr2-impl-guide/document-canon.nq", "clr2-impl-guide/proof-canon.nq"},
		{"vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json", "vc-di-eddsa/eddsa-rdfc-2022/canonDocDataInt.txt", "vc-di-eddsa/eddsa-rdfc-2022/proofCanonDataInt.txt"},
	} {
		t.Run(v.signed, func(t *testing.T) {
			signed := readJSON(t, filepath.Join(vectorDir, v.signed)).(map[string]any)
			proof := signed["proof"]
			if l, ok := proof.([]any); ok {
				proof = l[0]
			}
			pc := cloneJSON(t, proof).(map[string]any)
			delete(pc, "proofValue")
			pc["@context"] = signed["@context"]
			doc := cloneJSON(t, signed).(map[string]any)
			delete(doc, "proof")
			for _, x := range []struct {
				doc  any
				file string
			}{{doc, v.doc}, {pc, v.proof}} {
				want := strings.TrimRight(readText(t, filepath.Join(vectorDir, x.file)), "\n") + "\n"
				got, err := c.canonicalizeFast(x.doc)
				if err != nil {
					t.Fatalf("%s: %v", x.file, err)
				}
				if got != want {
					t.Errorf("%s mismatch\n--- published\n%s--- fast\n%s", x.file, want, got)
				}
			}
		})
	}
	// The W3C vector also publishes the proof configuration on its own.
	pc := readJSON(t, filepath.Join(vectorDir, "vc-di-eddsa/eddsa-rdfc-2022/proofConfigDataInt.json"))
	want := strings.TrimRight(readText(t, filepath.Join(vectorDir, "vc-di-eddsa/eddsa-rdfc-2022/proofCanonDataInt.txt")), "\n") + "\n"
	if got, err := c.canonicalizeFast(pc); err != nil || got != want {
		t.Errorf("proofConfigDataInt.json: err %v\n%s", err, got)
	}
}

// TestFastConcurrent runs the corpus from many goroutines on one
// Canonicalizer (run with -race), starting from an empty cache.
func TestFastConcurrent(t *testing.T) {
	c := newCanon(t)
	cases := corpus(t)
	want := make([]string, len(cases))
	for i, tc := range cases {
		want[i], _ = c.canonicalizeReference(tc.doc)
	}
	c = newCanon(t) // fresh caches
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				for i := range cases {
					tc := cases[(i+g*7)%len(cases)]
					w := want[(i+g*7)%len(cases)]
					got, err := c.Canonicalize(tc.doc)
					if err == nil && got != w {
						select {
						case errs <- tc.name:
						default:
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for n := range errs {
		t.Errorf("concurrent mismatch on %s", n)
	}
}

func BenchmarkCanonicalizeOBReference(b *testing.B) {
	c := newCanon(b)
	doc := readJSON(b, filepath.Join(vectorDir, "ob3-impl-guide", "unsigned-credential.json"))
	for b.Loop() {
		if _, err := c.canonicalizeReference(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLarge(b *testing.B, reference bool) {
	c := newCanon(b)
	doc := readJSON(b, filepath.Join(vectorDir, "clr2-impl-guide", "signed-credential.json")).(map[string]any)
	delete(doc, "proof")
	f := c.Canonicalize
	if reference {
		f = c.canonicalizeReference
	}
	for b.Loop() {
		if _, err := f(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonicalizeCLR(b *testing.B)          { benchLarge(b, false) }
func BenchmarkCanonicalizeCLRReference(b *testing.B) { benchLarge(b, true) }
