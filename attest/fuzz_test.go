package attest

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/jsonld"
)

func sampleFields() Fields {
	return Fields{
		Learner: Learner{Email: "ana.dupont@example.org", Name: "Anaïs Dupont-Lefèvre"},
		Training: Training{Issuer: "ac-lyon", Title: "Enseigner l'algorithmique et la programmation au cycle 4",
			Parcours: "16 | NGS | ALGOCODAGE | 1.0", GaiaDispositif: "26A0100123", GaiaModule: "45678", GaiaSession: "3",
			Start: "2026-10-12", End: "2026-11-14", HoursInPerson: 6, HoursRemote: 3.5, Organiser: "EAFC de l'académie de Lyon",
			Trainers: []string{"Éloïse Martin", "Jérôme Çelik"}, Signatory: Signatory{Name: "Françoise Bézier", Role: "Directrice de l'EAFC"}, Place: "Lyon"},
		Competencies: []Competency{{Code: "CC14", Statement: "S'engager dans une démarche individuelle et collective de développement professionnel"}},
		Modality:     Hybride, IssuedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), IssuerName: "Académie de Lyon",
	}
}

func deflate(b []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

var hostileOnce = sync.OnceValue(makeHostile)

// hostile PDFs: each is a seed of the fuzz target and a case of the test.
func hostile() map[string][]byte { return hostileOnce() }

func makeHostile() map[string][]byte {
	bomb := deflate(bytes.Repeat([]byte("{"), 2*badges.MaxCredentialSize)) // inflates past the cap
	many := "%PDF-1.7\n" + strings.Repeat("1 0 obj << /Type /EmbeddedFile /Length 5 >>\nstream\nhello\nendstream endobj\n", 200)
	return map[string][]byte{
		"empty":        []byte("%PDF-"),
		"no stream":    []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile >> endobj"),
		"bomb":         []byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream endobj", len(bomb), bomb)),
		"bad length":   []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Length 99999999999 >>\nstream\n{\"a\":1}\nendstream"),
		"indirect len": []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Length 2 0 R >>\nstream\n{\"a\":1}\nendstream"),
		"unterminated": []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Length 7 >>\nstream\n{\"a\":1"),
		"filter chain": []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Filter [/ASCIIHexDecode /FlateDecode] >>\nstream\n00\nendstream"),
		"bad flate":    []byte("%PDF-1.4\n1 0 obj << /Type /EmbeddedFile /Filter /FlateDecode /Length 4 >>\nstream\nxxxx\nendstream"),
		"many":         []byte(many),
		"names only":   []byte("%PDF-1.4\n<< /EmbeddedFiles << /Names [] >> >>"),
		"at start":     []byte("%PDF-/EmbeddedFile"),
		"dict at end":  []byte("%PDF-1.4 << /EmbeddedFile"),
	}
}

func TestExtractHostile(t *testing.T) {
	for name, in := range hostile() {
		p, err := ExtractCredential(in)
		if err == nil && len(p) > badges.MaxCredentialSize {
			t.Errorf("%s: %d bytes out", name, len(p))
		}
		if name == "bomb" && err == nil {
			t.Errorf("a deflate bomb was inflated")
		}
	}
	if _, err := ExtractCredential(append([]byte("%PDF-"), make([]byte, MaxPDFSize)...)); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("an oversized PDF: %v", err)
	}
	// The indirect /Length and the raw stream are still read.
	if p, err := ExtractCredential(hostile()["indirect len"]); err != nil || string(p) != `{"a":1}` {
		t.Errorf("indirect length: %q %v", p, err)
	}
}

// FuzzVerifyPDF: whatever a PDF holds, extraction and verification end
// with a report or an error, never a panic, within the size caps.
func FuzzVerifyPDF(f *testing.F) {
	cred := []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],"id":"urn:uuid:1"}`)
	pdf, err := render(rendering{Fields: sampleFields(), Code: "ABCD2345XY", VerifyURL: "https://x.example/v/ABCD2345XY", Credential: cred}, &deflaters{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pdf)
	f.Add(pdf[:len(pdf)/2])
	r := rendering{Fields: sampleFields(), Code: "ABCD2345XY", VerifyURL: "https://x.example/v/ABCD2345XY", Credential: cred}
	merged, err := renderMerged(context.Background(), Session{}, []rendering{r, r}, []string{"0001-a.json", "0002-b.json"}, func() error { return nil })
	if err != nil {
		f.Fatal(err)
	}
	f.Add(merged)
	for _, h := range hostile() {
		if len(h) < 1<<20 {
			f.Add(h)
		}
	}
	l, _ := jsonld.NewLoader()
	schemas, _ := badges.NewSchemas()
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: jsonld.NewCanonicalizer(l, jsonld.DefaultLimits),
		Extractors: []badges.Extractor{Extractor{}}})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ExtractCredential(in)
		if err == nil && len(p) > badges.MaxCredentialSize {
			t.Fatalf("%d bytes extracted", len(p))
		}
		if all, err := ExtractCredentials(in); err == nil {
			total := 0
			for _, c := range all {
				total += len(c)
			}
			if len(all) > MaxMergedCredentials || total > maxInflated+badges.MaxCredentialSize {
				t.Fatalf("%d credentials, %d bytes extracted", len(all), total)
			}
		}
		if !bytes.HasPrefix(in, []byte("%PDF-")) {
			return
		}
		r, _ := v.Verify(context.Background(), in, badges.Options{})
		if r == nil {
			t.Fatal("no report")
		}
	})
}
