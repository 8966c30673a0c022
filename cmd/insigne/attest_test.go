package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/store"
)

// TestVerifyAttestationPDF: insigne verify reads an attestation PDF and
// checks the credential inside without the network.
func TestVerifyAttestationPDF(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "insigne.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kek := make([]byte, 32)
	rand.Read(kek)
	sealer, _ := keys.NewSealer(kek)
	canon, err := newCanonicalizer()
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://formation.example.fr"
	iss := issuing.New(issuing.Config{Store: db, Blobs: store.DiskBlobs{Dir: filepath.Join(dir, "ev")}, Sealer: sealer, Canon: canon, BaseURL: base})
	if _, err := iss.CreateIssuer(ctx, "test", issuing.IssuerInput{Slug: "ac-lyon", Name: "Académie de Lyon"}); err != nil {
		t.Fatal(err)
	}
	fw, _ := competency.Official()
	schemas, _ := badges.NewSchemas()
	svc := attest.New(attest.Config{Store: db, Issuing: iss, Frameworks: fw, BaseURL: base,
		Verifier: badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Extractors: []badges.Extractor{attest.Extractor{}}})})
	a, err := svc.Issue(ctx, "test", attest.Request{Learner: attest.Learner{Email: "ana@ac-lyon.fr", Name: "Ana Dupont"},
		Training: attest.Training{Issuer: "ac-lyon", Title: "Évaluer par compétences", Start: "2026-10-01", End: "2026-10-01", HoursInPerson: 3,
			Organiser: "EAFC", Competencies: []string{"CC14"}, Signatory: attest.Signatory{Name: "F. Bézier", Role: "Directrice"}}})
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := svc.PDF(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	file := write(t, "attestation.pdf", pdf)
	code, out, stderr := insigne(t, "", "verify", "--offline", "--json", file)
	if code != exitOK || !strings.Contains(out, `"format": "pdf"`) || !strings.Contains(out, `"name": "proof",
      "ok": true`) {
		t.Fatalf("the attestation offline: exit %d\n%s%s", code, out, stderr)
	}

	// The credential inside altered (the hours): not valid.
	cred, err := attest.ExtractCredential(pdf)
	if err != nil {
		t.Fatal(err)
	}
	forged := bytes.Replace(cred, []byte(`"value":"3"`), []byte(`"value":"30"`), 1)
	if bytes.Equal(forged, cred) {
		t.Fatal("no duration to alter")
	}
	forgedPDF := fmt.Appendf(nil, "%%PDF-1.7\n1 0 obj << /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream\nendobj\n%%%%EOF\n", len(forged), forged)
	if code, out, _ := insigne(t, "", "verify", "--offline", write(t, "forged.pdf", forgedPDF)); code != exitInvalid {
		t.Errorf("a forged credential: exit %d\n%s", code, out)
	}
	// A merged PDF of a session: every credential in it checked.
	sess := attest.Session{Training: attest.Training{Issuer: "ac-lyon", Title: "Évaluer par compétences", Start: "2026-10-01", End: "2026-10-01",
		HoursInPerson: 3, Organiser: "EAFC", Signatory: attest.Signatory{Name: "F. Bézier", Role: "Directrice"}}, Output: attest.OutputPDF,
		Participants: []attest.Participant{{Email: "a@ac-lyon.fr", Name: "Aline A", Present: true}, {Email: "b@ac-lyon.fr", Name: "Bruno B", Present: true},
			{Email: "c@ac-lyon.fr", Name: "Chloé C", Present: true}}}
	b, err := svc.StartBatch(ctx, "test", sess)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunPendingBatches(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err = svc.Batch(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	merged, err := svc.MergedPDF(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	code, out, stderr = insigne(t, "", "verify", "--offline", write(t, "session.pdf", merged))
	if code != exitOK || !strings.Contains(out, "3 credentials attached") || strings.Count(out, "VALID") != 4 || strings.Contains(out, "NOT VALID") {
		t.Errorf("the merged PDF offline: exit %d\n%s%s", code, out, stderr)
	}
	// One of its credentials altered: the file is not valid.
	mixed := fmt.Appendf(nil, "%%PDF-1.7\n1 0 obj << /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream\nendobj\n2 0 obj << /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream\nendobj\n%%%%EOF\n",
		len(cred), cred, len(forged), forged)
	if code, out, _ := insigne(t, "", "verify", "--offline", write(t, "mixed.pdf", mixed)); code != exitInvalid || !strings.Contains(out, "2 credentials attached") {
		t.Errorf("a merged PDF with a forged credential: exit %d\n%s", code, out)
	}

	// A PDF without a credential is not something to verify.
	report, _ := attest.AttendanceReport(attest.Session{Training: attest.Training{Issuer: "ac-lyon", Title: "T", Start: "2026-10-01", End: "2026-10-01",
		HoursInPerson: 1, Organiser: "EAFC", Signatory: attest.Signatory{Name: "N", Role: "R"}},
		Participants: []attest.Participant{{Email: "a@b.fr", Name: "A", Present: true}}}, "Académie", time.Now())
	if code, _, stderr := insigne(t, "", "verify", "--offline", write(t, "report.pdf", report)); code != exitUnusable || !strings.Contains(stderr, "not an Insigne attestation") {
		t.Errorf("a PDF without credential: exit %d %s", code, stderr)
	}
}
