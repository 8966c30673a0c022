package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// httpDocs fetches the test server's own documents (status lists, issuer
// profiles) over loopback, which the production fetcher refuses.
type httpDocs struct{}

func (httpDocs) FetchDocument(ctx context.Context, url, accept string) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	return io.ReadAll(io.LimitReader(res.Body, 8<<20))
}

// withAttest wires the attestation service as cmd/insigne serve does.
func withAttest(t *testing.T, svc **attest.Service) func(base string, c *api.Config) {
	return func(base string, c *api.Config) {
		canon, schemas := shared(t)
		fw, err := competency.Official()
		if err != nil {
			t.Fatal(err)
		}
		v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: httpDocs{},
			Extractors: []badges.Extractor{attest.Extractor{}}})
		*svc = attest.New(attest.Config{Store: c.Idempotency.(*store.DB), Issuing: c.Issuing,
			Verifier: v, Frameworks: fw, BaseURL: base})
		c.Attest = *svc
		c.Frameworks = fw
		c.BaseURL = base
	}
}

func attestationBody(email string) map[string]any {
	return map[string]any{"issuer": "ac-a", "learner": map[string]string{"email": email, "name": "Anaïs Dupont"},
		"title": "Différencier en classe hétérogène", "start": "2026-10-12", "end": "2026-10-12", "hoursInPerson": 6, "hoursRemote": 0,
		"organiser": "EAFC de l'académie de Lyon", "trainers": []string{"Éloïse Martin"}, "competencies": []string{"CC14", "F1.5"},
		"signatory": map[string]string{"name": "Françoise Bézier", "role": "Directrice de l'EAFC"}}
}

func TestAttestationsAPI(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var svc *attest.Service
			ts := newTestServer(t, b.DSN(t), withAttest(t, &svc))
			ts.createIssuer(t, "ac-a")
			ts.createIssuer(t, "ac-b")
			trainerA, _ := ts.createToken(t, ts.Root, "ac-a", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)
			readerA, _ := ts.createToken(t, ts.Root, "ac-a", "reader", "trainer", auth.ScopeRead)
			adminB, _ := ts.createToken(t, ts.Root, "ac-b", "admin", "admin", auth.ScopeAward, auth.ScopeRead, auth.ScopeAdmin)
			// The learner has an account (trainer elsewhere) under the
			// attested address; another user has none of it.
			learnerID := ts.addMember(t, ts.Root, "ac-b", "anais.dupont@ac-lyon.fr", "trainer", "")
			otherID := ts.addMember(t, ts.Root, "ac-b", "autre@ac-lyon.fr", "trainer", "")
			learner, other := ts.newSession(t, learnerID), ts.newSession(t, otherID)

			body := attestationBody("Anais.Dupont@ac-lyon.fr")
			wantError(t, "anonymous", ts.do(t, "POST", "/api/v1/attestations", req{JSON: body}), 401, "unauthenticated", "")
			wantError(t, "no awards:write", ts.do(t, "POST", "/api/v1/attestations", req{Bearer: readerA, JSON: body}), 403, "forbidden", "")
			wantError(t, "other issuer", ts.do(t, "POST", "/api/v1/attestations", req{Bearer: adminB, JSON: body}), 403, "forbidden", "")
			bad := attestationBody("x@ac-lyon.fr")
			bad["competencies"] = []string{"CC15"}
			wantError(t, "unknown competency", ts.do(t, "POST", "/api/v1/attestations", req{Bearer: trainerA, JSON: bad}), 400, "invalid", "competencies[0]")
			bad = attestationBody("x@ac-lyon.fr")
			bad["hoursInPerson"] = "six"
			wantError(t, "hours as text", ts.do(t, "POST", "/api/v1/attestations", req{Bearer: trainerA, JSON: bad}), 400, "invalid_json", "hoursInPerson")
			bad = attestationBody("x@ac-lyon.fr")
			bad["duration"] = 6
			wantError(t, "unknown field", ts.do(t, "POST", "/api/v1/attestations", req{Bearer: trainerA, JSON: bad}), 400, "invalid_json", "duration")

			res := ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: trainerA, JSON: body})
			var out struct{ ID, Code, PDF, Credential, Verify string }
			res.json(t, &out)
			if out.ID == "" || len(out.Code) != attest.CodeLen || out.PDF != ts.URL+"/api/v1/attestations/"+out.ID+"/pdf" ||
				!strings.HasPrefix(out.Credential, ts.URL+"/credentials/") || out.Verify != ts.URL+"/v/"+out.Code {
				t.Fatalf("answer %s", res)
			}
			pdfPath := strings.TrimPrefix(out.PDF, ts.URL)
			pdf := ts.must(t, 200, "GET", pdfPath, req{Bearer: trainerA})
			if pdf.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
				t.Fatalf("PDF answer %d %s", pdf.Status, pdf.Header.Get("Content-Type"))
			}
			ts.must(t, 200, "GET", pdfPath, req{Session: learner})
			ts.must(t, 200, "GET", "/api/v1/attestations/"+out.ID, req{Session: learner})
			wantError(t, "another user", ts.do(t, "GET", pdfPath, req{Session: other}), 403, "forbidden", "")
			wantError(t, "other issuer's admin", ts.do(t, "GET", pdfPath, req{Bearer: adminB}), 403, "forbidden", "")
			wantError(t, "anonymous PDF", ts.do(t, "GET", pdfPath, req{}), 401, "unauthenticated", "")
			wantError(t, "no such attestation", ts.do(t, "GET", "/api/v1/attestations/00000000-0000-4000-8000-000000000000/pdf", req{Bearer: trainerA}), 404, "not_found", "")

			// POST /api/v1/verify: the report as before, plus the verdict.
			verify := func(body []byte) (v struct {
				Verdict     string
				Format      string
				Attestation *struct {
					Verdict, Message string
					Modified         bool
					Authentic        *struct{ Code string }
				}
			}) {
				t.Helper()
				ts.must(t, 200, "POST", "/api/v1/verify", req{Body: body, ContentType: "application/pdf"}).json(t, &v)
				return v
			}
			v := verify(pdf.Body)
			if v.Verdict == "invalid" || v.Format != "pdf" || v.Attestation == nil || v.Attestation.Verdict != "valid" || v.Attestation.Authentic.Code != out.Code {
				t.Errorf("verify the PDF: %+v %+v", v, v.Attestation)
			}
			changed := bytes.Clone(pdf.Body)
			i := bytes.Index(changed, []byte("/Producer"))
			changed[i+12] ^= 1
			if v := verify(changed); v.Attestation == nil || v.Attestation.Verdict != "modified" || !v.Attestation.Modified {
				t.Errorf("verify a changed PDF: %+v", v.Attestation)
			}
			if v := verify([]byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF")); v.Attestation == nil || v.Attestation.Verdict != "unknown" || v.Verdict != "invalid" {
				t.Errorf("verify a PDF from elsewhere: %+v", v)
			}
			wantError(t, "not a credential", ts.do(t, "POST", "/api/v1/verify", req{Body: []byte("bonjour"), ContentType: "text/plain"}), 400, "unusable_input", "")

			// The pages for HR.
			page := ts.must(t, 200, "GET", "/verify", req{})
			for _, want := range []string{`<html lang="fr">`, `<label for="file">`, `<label for="code">`, `enctype="multipart/form-data"`} {
				if !strings.Contains(string(page.Body), want) {
					t.Errorf("/verify lacks %s", want)
				}
			}
			page = ts.must(t, 200, "GET", "/v/"+out.Code, req{})
			if !strings.Contains(string(page.Body), "Valide") || !strings.Contains(string(page.Body), "Anaïs Dupont") {
				t.Errorf("/v/{code}: %s", page.Body)
			}
			ts.must(t, 404, "GET", "/v/ABCDEFGHJK", req{})

			var form bytes.Buffer
			mw := multipart.NewWriter(&form)
			fw, _ := mw.CreateFormFile("file", "attestation.pdf")
			fw.Write(pdf.Body)
			fw, _ = mw.CreateFormFile("file", "modifiee.pdf")
			fw.Write(changed)
			mw.WriteField("code", ts.URL+"/v/"+strings.ToLower(out.Code))
			mw.Close()
			page = ts.must(t, 200, "POST", "/verify", req{Body: form.Bytes(), ContentType: mw.FormDataContentType()})
			text := string(page.Body)
			if strings.Count(text, `<p class="verdict-label">Valide</p>`) != 2 || strings.Count(text, `<p class="verdict-label">Modifiée</p>`) != 1 || !strings.Contains(text, "Informations authentiques") {
				t.Errorf("the form's verdicts: %s", text)
			}
			ts.must(t, 400, "POST", "/verify", req{Body: []byte("x"), ContentType: "text/plain"})

			// Revoked, through the API that revokes any credential.
			credID := strings.TrimPrefix(out.Credential, ts.URL+"/credentials/")
			ts.must(t, 200, "POST", "/api/v1/credentials/"+credID+"/revoke", req{Bearer: ts.Root, JSON: map[string]string{"reason": "erreur"}})
			if v := verify(pdf.Body); v.Attestation.Verdict != "revoked" {
				t.Errorf("revoked: %+v", v.Attestation)
			}
		})
	}
}

// TestAttestationsAPISameTraining: attestations asked for one training,
// one after the other or at the same moment, name one achievement; the
// issuer's list of achievements grows by one per training.
func TestAttestationsAPISameTraining(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var svc *attest.Service
			ts := newTestServer(t, b.DSN(t), withAttest(t, &svc))
			ts.createIssuer(t, "ac-a")
			trainer, _ := ts.createToken(t, ts.Root, "ac-a", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)
			achievements := func() int {
				var out struct{ Achievements []json.RawMessage }
				ts.must(t, 200, "GET", "/api/v1/issuers/ac-a/achievements", req{Bearer: trainer}).json(t, &out)
				return len(out.Achievements)
			}
			achievementOf := func(res *resp) string {
				var out struct{ Credential string }
				res.json(t, &out)
				var doc struct {
					CredentialSubject struct{ Achievement struct{ ID string } }
				}
				ts.must(t, 200, "GET", strings.TrimPrefix(out.Credential, ts.URL), req{Header: map[string]string{"Accept": "application/vc+ld+json"}}).json(t, &doc)
				return doc.CredentialSubject.Achievement.ID
			}
			before := achievements()
			first := achievementOf(ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: trainer, JSON: attestationBody("a@ac-lyon.fr")}))
			second := achievementOf(ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: trainer, JSON: attestationBody("b@ac-lyon.fr")}))
			if first == "" || first != second || achievements() != before+1 {
				t.Fatalf("two requests: achievements %q and %q, %d more in the list", first, second, achievements()-before)
			}

			// A new training asked for by several at once.
			const n = 5
			answers := make([]*resp, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					body := attestationBody(fmt.Sprintf("p%d@ac-lyon.fr", i))
					body["title"] = "Évaluer par compétences au cycle 3"
					answers[i] = ts.do(t, "POST", "/api/v1/attestations", req{Bearer: trainer, JSON: body})
				})
			}
			wg.Wait()
			var ids []string
			for i, res := range answers {
				if res.Status != 201 {
					t.Fatalf("request %d: %s", i, res)
				}
				ids = append(ids, achievementOf(res))
				if ids[i] != ids[0] {
					t.Errorf("request %d: achievement %s, request 0: %s", i, ids[i], ids[0])
				}
			}
			if ids[0] == first || achievements() != before+2 {
				t.Errorf("concurrent requests for a new training: %d more achievements, want 2", achievements()-before)
			}
		})
	}
}

func TestAttestationBatchAPI(t *testing.T) {
	var svc *attest.Service
	ts := newTestServer(t, storetest.SQLite(t), withAttest(t, &svc))
	ts.createIssuer(t, "ac-a")
	ts.createIssuer(t, "ac-b")
	trainerA, _ := ts.createToken(t, ts.Root, "ac-a", "trainer", "trainer", auth.ScopeAward, auth.ScopeRead)
	adminB, _ := ts.createToken(t, ts.Root, "ac-b", "admin", "admin", auth.ScopeAward, auth.ScopeRead, auth.ScopeAdmin)
	sess := attestationBody("")
	delete(sess, "learner")
	sess["reference"] = "DIFF-2026"
	var ps []map[string]any
	for i := range 12 {
		ps = append(ps, map[string]any{"email": fmt.Sprintf("p%d@ac-lyon.fr", i), "name": fmt.Sprintf("Participant %d", i),
			"establishment": "Lycée du Parc – Lyon", "present": i != 5})
	}
	sess["participants"] = ps
	res := ts.must(t, 202, "POST", "/api/v1/attestations/batches", req{Bearer: trainerA, JSON: sess})
	var b struct {
		URL, State, Zip, Report string
		Total, Done             int
	}
	res.json(t, &b)
	if b.Total != 11 || b.State != "queued" {
		t.Fatalf("batch %s", res)
	}
	path := strings.TrimPrefix(b.URL, ts.URL)
	wantError(t, "zip before done", ts.do(t, "GET", path+"/attestations.zip", req{Bearer: trainerA}), 409, "not_ready", "")
	if _, err := svc.RunPendingBatches(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.must(t, 200, "GET", path, req{Bearer: trainerA}).json(t, &b)
	if b.State != "done" || b.Done != 11 {
		t.Fatalf("batch after run %+v", b)
	}
	wantError(t, "other issuer", ts.do(t, "GET", path, req{Bearer: adminB}), 403, "forbidden", "")
	z := ts.must(t, 200, "GET", path+"/attestations.zip", req{Bearer: trainerA})
	zr, err := zip.NewReader(bytes.NewReader(z.Body), int64(len(z.Body)))
	if err != nil || len(zr.File) != 11 {
		t.Fatalf("zip: %v", err)
	}
	wantError(t, "merged PDF of a ZIP batch", ts.do(t, "GET", path+"/attestations.pdf", req{Bearer: trainerA}), 404, "not_found", "")

	// The same session as one merged PDF.
	sess["output"] = "pdf"
	var mb struct {
		URL, State, Output, PDF, PDFSha256 string
		Total, Done                        int
	}
	ts.must(t, 202, "POST", "/api/v1/attestations/batches", req{Bearer: trainerA, JSON: sess}).json(t, &mb)
	mpath := strings.TrimPrefix(mb.URL, ts.URL)
	if mb.Output != "pdf" || mb.PDF != mb.URL+"/attestations.pdf" {
		t.Fatalf("merged batch %+v", mb)
	}
	wantError(t, "merged PDF before done", ts.do(t, "GET", mpath+"/attestations.pdf", req{Bearer: trainerA}), 409, "not_ready", "")
	if _, err := svc.RunPendingBatches(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.must(t, 200, "GET", mpath, req{Bearer: trainerA}).json(t, &mb)
	if mb.State != "done" || mb.Done != 11 || len(mb.PDFSha256) != 64 {
		t.Fatalf("merged batch after run %+v", mb)
	}
	wantError(t, "merged PDF of another issuer", ts.do(t, "GET", mpath+"/attestations.pdf", req{Bearer: adminB}), 403, "forbidden", "")
	m := ts.must(t, 200, "GET", mpath+"/attestations.pdf", req{Bearer: trainerA})
	if sum := sha256.Sum256(m.Body); hex.EncodeToString(sum[:]) != mb.PDFSha256 || m.Header.Get("Content-Type") != "application/pdf" ||
		m.Header.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
		t.Errorf("merged PDF %s %q, recorded %s", m.Header.Get("Content-Type"), m.Header.Get("Repr-Digest"), mb.PDFSha256)
	}
	if creds, err := attest.ExtractCredentials(m.Body); err != nil || len(creds) != 11 {
		t.Errorf("%d credentials in the merged PDF: %v", len(creds), err)
	}
	// HR uploads the merged PDF: the file is the one delivered, and each
	// attestation in it is valid.
	var mv struct {
		Verdict     string
		Attestation struct {
			Verdict, Batch string
			Attestations   []struct{ Verdict string }
		}
	}
	ts.must(t, 200, "POST", "/api/v1/verify", req{Body: m.Body, ContentType: "application/pdf"}).json(t, &mv)
	if mv.Verdict != "valid" || mv.Attestation.Verdict != "valid" || mv.Attestation.Batch == "" || len(mv.Attestation.Attestations) != 11 ||
		mv.Attestation.Attestations[10].Verdict != "valid" {
		t.Errorf("verify the merged PDF: %+v", mv)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "session.pdf")
	fw.Write(m.Body)
	mw.Close()
	page := string(ts.must(t, 200, "POST", "/verify", req{Body: form.Bytes(), ContentType: mw.FormDataContentType()}).Body)
	if !strings.Contains(page, "Recueil authentique de 11 attestations") || strings.Count(page, `<td class="verdict-ok">Valide</td>`) != 11 ||
		!strings.Contains(page, "Participant 11") {
		t.Errorf("the verify page on the merged PDF: %s", page)
	}
	sess["output"] = "docx"
	wantError(t, "bad output", ts.do(t, "POST", "/api/v1/attestations/batches", req{Bearer: trainerA, JSON: sess}), 400, "invalid", "output")

	rep := ts.must(t, 200, "GET", path+"/report.pdf", req{Bearer: trainerA})
	if !bytes.HasPrefix(rep.Body, []byte("%PDF-")) {
		t.Errorf("report %s", rep.Header.Get("Content-Type"))
	}
	bad := attestationBody("")
	delete(bad, "learner")
	bad["participants"] = []map[string]any{{"email": "pas-une-adresse", "name": "X", "present": true}}
	wantError(t, "bad participant", ts.do(t, "POST", "/api/v1/attestations/batches", req{Bearer: trainerA, JSON: bad}), 400, "invalid", "participants[0].email")
	_ = time.Second
}
