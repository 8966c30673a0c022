package badges_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
)

// FuzzVerify feeds arbitrary input to the whole verifier, offline: any
// bytes must give a report (or an unusable-input error), never a panic.
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"simple.json", "simple.jwt", "sd/derivedcredential.json", "simple_v1.json"} {
		b, err := os.ReadFile(filepath.Join(examplesDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Baked images are fuzzed in package bake; large seeds stall the mutator here.
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"proof":{}}`))
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas(f), Canon: canonicalizer(f)})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, input []byte) {
		r, err := v.Verify(context.Background(), input, badges.Options{At: at})
		if r == nil {
			t.Fatalf("no report (err %v)", err)
		}
		if err == nil && r.Verdict == "" {
			t.Fatal("report without a verdict")
		}
	})
}
