package attest_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	pngenc "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	qr "github.com/piglig/go-qr"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/internal/testenv"
	"github.com/insigne/insigne/interop"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/issuing/issuingtest"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

const base = "https://formation.example.fr"

type fixture struct {
	svc *attest.Service
	iss *issuing.Service
	db  *store.DB
	now time.Time
}

var frameworks []competency.Framework

func newFixture(t testing.TB, dsn string) *fixture {
	t.Helper()
	it := issuingtest.New(t, dsn, issuingtest.Config{BaseURL: base})
	if frameworks == nil {
		var err error
		if frameworks, err = competency.Official(); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{iss: it.Service, db: it.DB}
	f.svc = attest.New(attest.Config{Store: it.DB, Issuing: it.Service, Verifier: it.Verifier(attest.Extractor{}),
		Frameworks: frameworks, BaseURL: base, Now: func() time.Time {
			if f.now.IsZero() {
				return time.Now()
			}
			return f.now
		}})
	it.Issuer(t, "ac-lyon", "Académie de Lyon")
	return f
}

func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, newFixture(t, b.DSN(t))) })
	}
}

func training() attest.Training {
	return attest.Training{Issuer: "ac-lyon", Title: "Enseigner l'algorithmique au cycle 4 : démarches et œuvres",
		Parcours: "16 | NGS | ALGOCODAGE | 1.0", GaiaDispositif: "26A0100123", GaiaModule: "45678", GaiaSession: "27913",
		Start: "2026-10-12", End: "2026-11-14", HoursInPerson: 6, HoursRemote: 3.5, Organiser: "EAFC de l'académie de Lyon",
		Trainers: []string{"Éloïse Martin", "Jérôme Çelik"}, Competencies: []string{"CC14", "F1.5"},
		Signatory: attest.Signatory{Name: "Françoise Bézier", Role: "Directrice de l'EAFC"}, Place: "Lyon"}
}

func request() attest.Request {
	return attest.Request{Training: training(), Learner: attest.Learner{Email: "anais.dupont@ac-lyon.fr", Name: "Anaïs Dupont"}}
}

func issue(t *testing.T, f *fixture) (*attest.Attestation, []byte) {
	t.Helper()
	ctx := context.Background()
	a, err := f.svc.Issue(ctx, "test", request())
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := f.svc.PDF(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return a, pdf
}

// pdftotext returns the text of a PDF as poppler reads it, in reading
// order.
func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := testenv.LookPath(t, "pdftotext")
	p := filepath.Join(t.TempDir(), "a.pdf")
	os.WriteFile(p, pdf, 0o600)
	out, err := exec.Command(bin, "-enc", "UTF-8", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func squeeze(s string) string { return strings.ReplaceAll(s, " ", "") }

func TestAttestationPDF(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		a, pdf := issue(t, f)
		if len(pdf) > 100<<10 {
			t.Errorf("the PDF is %d bytes, more than 100 KB", len(pdf))
		}
		if !regexp.MustCompile(`^[2-9A-HJKMNP-Z]{10}$`).MatchString(a.Code) {
			t.Errorf("code %q has ambiguous or missing characters", a.Code)
		}
		text := pdftotext(t, pdf)
		norm := strings.Join(strings.Fields(text), " ")
		for _, want := range []string{
			"Attestation de formation", "Académie de Lyon", "Anaïs Dupont",
			"Enseigner l'algorithmique au cycle 4 : démarches et œuvres",
			"16 | NGS | ALGOCODAGE | 1.0", "26A0100123", "45678", "27913",
			"du 12 octobre 2026 au 14 novembre 2026", "Durée en présence : 6 h", "Durée à distance : 3 h 30",
			"Durée totale : 9 h 30", "Modalité : hybride", "EAFC de l'académie de Lyon", "Éloïse Martin, Jérôme Çelik",
			"CC14 – S'engager dans une démarche individuelle et collective de développement professionnel",
			"F1.5 – ", "Françoise Bézier", "Directrice de l'EAFC", "Fait à Lyon, le ",
			attest.FormatCode(a.Code), base + "/v/" + a.Code,
		} {
			// pdftotext sometimes drops the space of a short "6 h": compare
			// without spaces.
			if !strings.Contains(squeeze(norm), squeeze(want)) {
				t.Errorf("pdftotext does not show %q; it reads:\n%s", want, text)
			}
		}
		// Reading order: the participant before the training, the
		// training before the signatory, the proof last.
		order := []string{"Anaïs Dupont", "Intitulé", "Compétences", "Fait à", "Code de vérification"}
		last := -1
		for _, w := range order {
			i := strings.Index(norm, w)
			if i < last {
				t.Errorf("%q comes before what precedes it on the page", w)
			}
			last = i
		}
		for _, meta := range []string{"/Lang (fr-FR)", "/Title", "/BaseFont /Helvetica"} {
			if !bytes.Contains(pdf, []byte(meta)) {
				t.Errorf("the PDF has no %s", meta)
			}
		}
		if bytes.Contains(pdf, []byte("/FontFile2")) {
			t.Error("a text all in WinAnsi embeds a font")
		}

		// The credential inside verifies, and its durations are there.
		cred, err := attest.ExtractCredential(pdf)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ID      string `json:"id"`
			Subject struct {
				Start  string `json:"activityStartDate"`
				End    string `json:"activityEndDate"`
				Result []struct {
					RD    string `json:"resultDescription"`
					Value string `json:"value"`
				} `json:"result"`
				Achievement struct {
					Type  string                                    `json:"achievementType"`
					RDs   []struct{ ID, ResultType string }         `json:"resultDescription"`
					Align []struct{ TargetCode, TargetName string } `json:"alignment"`
				} `json:"achievement"`
			} `json:"credentialSubject"`
		}
		if err := json.Unmarshal(cred, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.ID != "urn:uuid:"+a.CredentialID {
			t.Errorf("embedded credential %s, recorded %s", doc.ID, a.CredentialID)
		}
		// poppler finds the same attached file, by its name.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.pdf"), pdf, 0o600)
		if out, err := exec.Command(testenv.LookPath(t, "pdfdetach"), "-saveall", "-o", dir, filepath.Join(dir, "a.pdf")).CombinedOutput(); err != nil {
			t.Fatalf("pdfdetach: %v %s", err, out)
		}
		if got, err := os.ReadFile(filepath.Join(dir, attest.AttachmentName)); err != nil || !bytes.Equal(bytes.TrimSpace(got), cred) {
			t.Errorf("poppler's %s: %v (%d bytes, %d extracted)", attest.AttachmentName, err, len(got), len(cred))
		}
		hours := map[string]string{}
		for _, rd := range doc.Subject.Achievement.RDs {
			for _, r := range doc.Subject.Result {
				if r.RD == rd.ID {
					hours[rd.ResultType] = r.Value
				}
			}
		}
		if hours[attest.ResultHoursInPerson] != "6" || hours[attest.ResultHoursRemote] != "3.5" {
			t.Errorf("durations in the credential: %v", hours)
		}
		if !strings.HasPrefix(doc.Subject.Start, "2026-10-12") || !strings.HasPrefix(doc.Subject.End, "2026-11-14") {
			t.Errorf("activity dates %s – %s", doc.Subject.Start, doc.Subject.End)
		}
		if len(doc.Subject.Achievement.Align) != 2 || doc.Subject.Achievement.Align[0].TargetCode != "CC14" {
			t.Errorf("alignment %+v", doc.Subject.Achievement.Align)
		}

		o, err := f.svc.VerifyFile(context.Background(), "a.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		if o.Verdict != attest.VerdictValid || o.Report == nil || o.Report.Verdict == badges.Invalid {
			t.Fatalf("the attestation as issued: %s (%s) %+v", o.Verdict, o.Message, o.Report)
		}
		if o.Report.Format != "pdf" {
			t.Errorf("format %q", o.Report.Format)
		}
		if t.Name() == "TestAttestationPDF/sqlite" {
			node := interop.Node(t)
			if ok, detail := node.VerifyDI(t, cred); !ok {
				t.Errorf("Digital Bazaar does not verify the embedded credential: %s", detail)
			}
		}
	})
}

// TestAttestationOutsideWinAnsi: a name and an official statement with
// characters the core fonts lack are printed as given, in the embedded
// font, and the attestation verifies and is recognised when edited.
func TestAttestationOutsideWinAnsi(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	r := request()
	r.Learner.Name = "Łukasz Şahin"
	r.Competencies = []string{"CC14.3"}
	a, err := f.svc.Issue(ctx, "test", r)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := f.svc.PDF(ctx, a)
	if !bytes.Contains(pdf, []byte("/FontFile2")) {
		t.Error("no embedded font for text outside WinAnsi")
	}
	text := strings.Join(strings.Fields(pdftotext(t, pdf)), " ")
	for _, want := range []string{"Łukasz Şahin", "Réfléchir sur sa pratique ― seul et entre pairs ― et réinvestir",
		"Durée à distance : 3 h 30", "« " + attest.AttachmentName + " »"} {
		if !strings.Contains(squeeze(text), squeeze(want)) {
			t.Errorf("pdftotext does not show %q; it reads:\n%s", want, text)
		}
	}
	if o, err := f.svc.VerifyFile(ctx, "a.pdf", pdf); err != nil || o.Verdict != attest.VerdictValid {
		t.Errorf("verify: %v %+v", err, o)
	}
	edited := editText(t, pdf, "Şahin", "Sahin")
	if o, err := f.svc.VerifyFile(ctx, "e.pdf", edited); err != nil || o.Verdict != attest.VerdictModified {
		t.Errorf("edited: %v %+v", err, o)
	}
}

// TestQRCodeScans: the page as poppler rasterises it holds a QR code that
// reads back as the verification link.
func TestQRCodeScans(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	a, pdf := issue(t, f)
	bin := testenv.LookPath(t, "pdftoppm")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.pdf"), pdf, 0o600)
	if out, err := exec.Command(bin, "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", filepath.Join(dir, "a.pdf"), filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	fh, err := os.Open(filepath.Join(dir, "p.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := pngenc.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := qr.Decode(img)
	if err != nil {
		t.Fatalf("the QR code does not scan: %v", err)
	}
	if want := base + "/v/" + a.Code; got != want {
		t.Errorf("the QR code reads %q, want %q", got, want)
	}
}

func TestVerdicts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, pdf := issue(t, f)
		verdict := func(name string, b []byte) *attest.Outcome {
			t.Helper()
			o, err := f.svc.VerifyFile(ctx, name, b)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}

		// One changed byte, in the page's drawing (not the credential).
		i := bytes.Index(pdf, []byte("/Producer"))
		flipped := bytes.Clone(pdf)
		flipped[i+12] ^= 0x01
		o := verdict("flipped.pdf", flipped)
		if o.Verdict != attest.VerdictModified || o.Authentic == nil || o.Authentic.Learner.Name != "Anaïs Dupont" {
			t.Errorf("one changed byte: %s %+v", o.Verdict, o.Authentic)
		}

		// The visible name edited in the page content, as a forger would.
		edited := editText(t, pdf, "Dupont", "Durand")
		if !strings.Contains(pdftotext(t, edited), "Anaïs Durand") {
			t.Fatal("the edit did not change the visible text")
		}
		o = verdict("edited.pdf", edited)
		if o.Verdict != attest.VerdictModified || o.Authentic.Learner.Name != "Anaïs Dupont" || o.Authentic.Training.HoursInPerson != 6 {
			t.Errorf("edited text: %s %+v", o.Verdict, o.Authentic)
		}
		if !o.Modified || !strings.Contains(o.Message, "modifié") {
			t.Errorf("message %q", o.Message)
		}

		// The credential inside altered too (six hours become sixty): still
		// recognised by its id, reported modified, and the message says the
		// proof itself was tampered with.
		cred, _ := attest.ExtractCredential(pdf)
		forged := bytes.Replace(cred, []byte(`"value":"6"`), []byte(`"value":"60"`), 1)
		forgedPDF := fmt.Appendf(nil, "%%PDF-1.7\n1 0 obj << /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(forged), forged)
		o = verdict("forged.pdf", forgedPDF)
		if o.Verdict != attest.VerdictModified || !strings.Contains(o.Message, "altérée") || o.Authentic.Training.HoursInPerson != 6 {
			t.Errorf("forged credential: %s %q", o.Verdict, o.Message)
		}

		// The code and the QR link.
		o, err := f.svc.VerifyCode(ctx, strings.ToLower(attest.FormatCode(a.Code)))
		if err != nil || o.Verdict != attest.VerdictValid {
			t.Errorf("by code: %v %+v", err, o)
		}
		o, _ = f.svc.VerifyCode(ctx, "ABCD-EFGH-0O")
		if o.Verdict != attest.VerdictUnknown {
			t.Errorf("a code with ambiguous characters: %s", o.Verdict)
		}
		o, _ = f.svc.VerifyCode(ctx, "ABCD-EFGH-JK")
		if o.Verdict != attest.VerdictUnknown {
			t.Errorf("a code never issued: %s", o.Verdict)
		}

		// A PDF from elsewhere: the attendance report has no credential.
		other, err := attest.AttendanceReport(session(3), "Académie de Lyon", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if o := verdict("other.pdf", other); o.Verdict != attest.VerdictUnknown || o.Authentic != nil {
			t.Errorf("a PDF from elsewhere: %s", o.Verdict)
		}
		if o := verdict("junk.pdf", []byte("%PDF-1.4\n/EmbeddedFile garbage")); o.Verdict != attest.VerdictUnknown {
			t.Errorf("junk: %s", o.Verdict)
		}

		// Expiry: an attestation valid for a year, checked two years on.
		tr := request()
		tr.ValidForDays = 365
		b, err := f.svc.Issue(ctx, "test", tr)
		if err != nil {
			t.Fatal(err)
		}
		bpdf, _ := f.svc.PDF(ctx, b)
		f.now = time.Now().AddDate(2, 0, 0)
		if o := verdict("old.pdf", bpdf); o.Verdict != attest.VerdictExpired {
			t.Errorf("expired: %s (%s)", o.Verdict, o.Message)
		}
		f.now = time.Time{}

		// Revoked: the exact file, the modified one and the code.
		if err := f.iss.Revoke(ctx, "test", a.CredentialID, "délivrée par erreur"); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"a.pdf": pdf, "edited.pdf": edited} {
			if o := verdict(name, b); o.Verdict != attest.VerdictRevoked {
				t.Errorf("%s after revocation: %s", name, o.Verdict)
			}
		}
		if o, _ := f.svc.VerifyCode(ctx, a.Code); o.Verdict != attest.VerdictRevoked || o.Authentic.Reason != "délivrée par erreur" {
			t.Errorf("code after revocation: %+v", o)
		}
		// The credential alone (JSON) says the same.
		if o := verdict("a.json", cred); o.Verdict != attest.VerdictRevoked {
			t.Errorf("credential after revocation: %s", o.Verdict)
		}
	})
}

// editText replaces old by new (same length) in the page content streams,
// as editing the visible text in a PDF editor comes to. Pages in the core
// font are plain streams with the text in WinAnsi; pages in the embedded
// font are deflated with the text in UTF-16BE, and the re-compressed
// stream is spliced back with its new /Length.
func editText(t *testing.T, pdf []byte, old, new string) []byte {
	t.Helper()
	u16 := func(s string) []byte {
		var b []byte
		for _, r := range utf16.Encode([]rune(s)) {
			b = append(b, byte(r>>8), byte(r))
		}
		return b
	}
	re := regexp.MustCompile(`<</(?:Filter /FlateDecode /)?Length (\d+)>>\nstream\n`)
	for _, m := range re.FindAllSubmatchIndex(pdf, -1) {
		n, _ := strconv.Atoi(string(pdf[m[2]:m[3]]))
		start := m[1]
		if !bytes.Contains(pdf[m[0]:m[1]], []byte("FlateDecode")) {
			content := pdf[start : start+n]
			if bytes.Contains(content, []byte("BT ")) && bytes.Contains(content, []byte(old)) {
				out := bytes.Clone(pdf)
				copy(out[start:start+n], bytes.ReplaceAll(content, []byte(old), []byte(new)))
				return out
			}
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(pdf[start : start+n]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil || !bytes.Contains(content, u16(old)) {
			continue
		}
		content = bytes.ReplaceAll(content, u16(old), u16(new))
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(content)
		zw.Close()
		var out bytes.Buffer
		out.Write(pdf[:m[0]])
		fmt.Fprintf(&out, "<</Filter /FlateDecode /Length %d>>\nstream\n", z.Len())
		out.Write(z.Bytes())
		out.Write(pdf[start+n:])
		return out.Bytes()
	}
	t.Fatalf("no content stream shows %q", old)
	return nil
}

func session(n int) attest.Session {
	s := attest.Session{Training: training(), Reference: "ALGO-C4-2026", Comment: "Session de l'automne."}
	for i := range n {
		s.Participants = append(s.Participants, attest.Participant{Email: fmt.Sprintf("stagiaire%d@ac-lyon.fr", i),
			Name: fmt.Sprintf("Stagiaire N°%d Lefèvre", i), Establishment: "Collège Jean Moulin – Villeurbanne", Present: i%7 != 3})
	}
	return s
}

func TestBatchZip(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		// 300 present of 350 on SQLite; PostgreSQL runs the same path
		// with fewer, to keep the suite's time in check.
		n, present := 350, 300
		if strings.HasSuffix(t.Name(), "postgres") {
			n, present = 35, 30
		}
		sess := session(n)
		b, err := f.svc.StartBatch(ctx, "test", sess)
		if err != nil {
			t.Fatal(err)
		}
		if b.Total != present || b.State != attest.BatchQueued {
			t.Fatalf("batch %+v", b)
		}
		if n, err := f.svc.RunPendingBatches(ctx); err != nil || n != 1 {
			t.Fatalf("ran %d batches: %v", n, err)
		}
		b, err = f.svc.Batch(ctx, b.ID)
		if err != nil || b.State != attest.BatchDone || b.Done != present || b.Failed != 0 {
			t.Fatalf("batch after run: %+v %v", b, err)
		}
		var buf bytes.Buffer
		if err := f.svc.WriteZip(ctx, &buf, b); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != present {
			t.Fatalf("%d files in the ZIP", len(zr.File))
		}
		seen := map[string]bool{}
		for _, zf := range zr.File {
			rc, _ := zf.Open()
			pdf, _ := io.ReadAll(rc)
			rc.Close()
			o, err := f.svc.VerifyFile(ctx, zf.Name, pdf)
			if err != nil || o.Verdict != attest.VerdictValid {
				fc, _ := o.Report.Failed()
				t.Fatalf("%s: %v %+v %+v", zf.Name, err, o, fc)
			}
			if seen[o.Authentic.Learner.Email] {
				t.Errorf("%s twice", o.Authentic.Learner.Email)
			}
			seen[o.Authentic.Learner.Email] = true
			if !strings.Contains(zf.Name, "Stagiaire-N") {
				t.Errorf("file name %q", zf.Name)
			}
		}
		// Absent participants got nothing.
		if seen["stagiaire3@ac-lyon.fr"] || !seen["stagiaire4@ac-lyon.fr"] {
			t.Error("attestations do not follow attendance")
		}
	})
}

// TestBatchMergedPDF: a batch made with output "pdf" ends with one PDF
// of every attestation, each credential attached under a name that maps
// to its page, the file's SHA-256 recorded; the verifier answers for the
// file and for each attestation in it.
func TestBatchMergedPDF(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sess := session(14) // rows 3 and 10 absent: 12 attestations
		sess.Output = attest.OutputPDF
		b, err := f.svc.StartBatch(ctx, "test", sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RunPendingBatches(ctx); err != nil {
			t.Fatal(err)
		}
		b, err = f.svc.Batch(ctx, b.ID)
		if err != nil || b.State != attest.BatchDone || b.Done != 12 || b.MergedSHA256 == "" {
			t.Fatalf("batch after run: %+v %v", b, err)
		}
		pdf, err := f.svc.MergedPDF(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != b.MergedSHA256 || int64(len(pdf)) != b.MergedSize {
			t.Errorf("recorded %s (%d bytes), delivered %x (%d bytes)", b.MergedSHA256, b.MergedSize, sum, len(pdf))
		}
		as, err := f.db.BatchAttestations(ctx, b.ID)
		if err != nil || len(as) != 12 {
			t.Fatalf("%d attestations: %v", len(as), err)
		}
		// Every participant present, on their own page, in row order.
		pages := strings.Split(pdftotext(t, pdf), "\f")
		page := 0
		for _, a := range as {
			for page < len(pages) && !strings.Contains(pages[page], a.LearnerName) {
				page++
			}
			if page == len(pages) {
				t.Fatalf("no page (in order) shows %q", a.LearnerName)
			}
			if !strings.Contains(pages[page], attest.FormatCode(a.Code)) {
				t.Errorf("the page of %s does not show its code %s", a.LearnerName, a.Code)
			}
		}
		if strings.Contains(strings.Join(pages, ""), "Stagiaire N°3 ") {
			t.Error("an absent participant is in the merged PDF")
		}
		// Every attached credential, in page order, is the participant's,
		// under a name that carries its row and code, and verifies.
		creds, err := attest.ExtractCredentials(pdf)
		if err != nil || len(creds) != 12 {
			t.Fatalf("%d credentials: %v", len(creds), err)
		}
		for i, cred := range creds {
			var doc struct{ ID string }
			json.Unmarshal(cred, &doc)
			if doc.ID != "urn:uuid:"+as[i].CredentialID {
				t.Errorf("attachment %d is %s, row %d's credential is %s", i, doc.ID, as[i].BatchRow, as[i].CredentialID)
			}
			o, err := f.svc.VerifyFile(ctx, "c.json", cred)
			if err != nil || o.Verdict != attest.VerdictValid || o.Authentic.Learner.Email != as[i].LearnerEmail {
				t.Errorf("credential %d: %v %+v", i, err, o)
			}
		}

		// The same, read by poppler: each file is named with the row and
		// the code of the attestation on its page.
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "all.pdf"), pdf, 0o600)
		if out, err := exec.Command(testenv.LookPath(t, "pdfdetach"), "-saveall", "-o", dir, filepath.Join(dir, "all.pdf")).CombinedOutput(); err != nil {
			t.Fatalf("pdfdetach: %v %s", err, out)
		}
		for _, a := range as {
			name := fmt.Sprintf("%04d-Stagiaire-N%s-Lefevre-%s.json", a.BatchRow, regexp.MustCompile(`\d+`).FindString(a.LearnerName), a.Code)
			cred, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("row %d (%s): %v", a.BatchRow, a.LearnerName, err)
				continue
			}
			if !bytes.Contains(cred, []byte(`"id":"urn:uuid:`+a.CredentialID+`"`)) {
				t.Errorf("%s does not hold the credential %s", name, a.CredentialID)
			}
		}

		// The merged file as delivered.
		o, err := f.svc.VerifyFile(ctx, "all.pdf", pdf)
		if err != nil {
			t.Fatal(err)
		}
		if o.Verdict != attest.VerdictValid || o.Batch != b.ID || o.Modified || len(o.Attestations) != 12 {
			t.Fatalf("merged PDF: %s %q batch %q, %d attestations", o.Verdict, o.Message, o.Batch, len(o.Attestations))
		}
		for i, item := range o.Attestations {
			if item.Verdict != attest.VerdictValid || item.Authentic == nil || item.Authentic.Code != as[i].Code {
				t.Errorf("merged PDF, attestation %d: %+v", i, item)
			}
		}
		// One attestation revoked: the file reads revoked, that one too,
		// the others valid.
		if err := f.iss.Revoke(ctx, "test", as[4].CredentialID, "absente en fait"); err != nil {
			t.Fatal(err)
		}
		o, _ = f.svc.VerifyFile(ctx, "all.pdf", pdf)
		if o.Verdict != attest.VerdictRevoked || !strings.Contains(o.Message, "11 valide(s)") || !strings.Contains(o.Message, " 1 retirée(s)") {
			t.Errorf("one revoked: %s %q", o.Verdict, o.Message)
		}
		for i, item := range o.Attestations {
			if want := map[bool]string{true: attest.VerdictRevoked, false: attest.VerdictValid}[i == 4]; item.Verdict != want {
				t.Errorf("attestation %d: %s, want %s", i, item.Verdict, want)
			}
		}
		// One changed byte: no longer the file delivered, every
		// attestation in it reported as in a modified file.
		flipped := bytes.Clone(pdf)
		flipped[bytes.Index(pdf, []byte("/Producer"))+12] ^= 1
		o, _ = f.svc.VerifyFile(ctx, "flipped.pdf", flipped)
		if o.Verdict != attest.VerdictRevoked || o.Batch != "" || !o.Modified || len(o.Attestations) != 12 ||
			o.Attestations[0].Verdict != attest.VerdictModified || !strings.Contains(o.Message, "n'est pas celui") {
			t.Errorf("flipped merged PDF: %s %q %+v", o.Verdict, o.Message, o)
		}
	})
}

// TestBatchResumes: a worker stops (its context ends) in the middle of
// its second chunk; the batch, taken over once its lease ran out, goes on
// at its cursor: every participant ends with one credential and one
// attestation, none signed twice, none left without its attestation.
func TestBatchResumes(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	sess := session(130)
	for i := range sess.Participants {
		sess.Participants[i].Present = true
	}
	b, err := f.svc.StartBatch(context.Background(), "test", sess)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	attest.FailRendering(f.svc, func(email string) error {
		if email == "stagiaire110@ac-lyon.fr" {
			stop()
			return errors.New("the worker stops")
		}
		return nil
	})
	if _, err := f.svc.RunPendingBatches(ctx); err == nil {
		t.Fatal("the stopped worker reports no error")
	}
	if got, _ := f.svc.Batch(context.Background(), b.ID); got.Done != 100 || got.Failed != 0 || got.State != attest.BatchRunning {
		t.Fatalf("after the stop: %+v", got)
	}
	if _, total, _ := f.iss.Credentials(context.Background(), issuing.CredentialQuery{AchievementID: b.Achievement}); total != 100 {
		t.Fatalf("%d credentials stored for the first chunk's 100 attestations", total)
	}
	attest.FailRendering(f.svc, func(string) error { return nil })
	f.now = time.Now().Add(time.Minute) // the lease ran out
	if n, err := f.svc.RunPendingBatches(context.Background()); err != nil || n != 1 {
		t.Fatalf("taken over: %d %v", n, err)
	}
	got, _ := f.svc.Batch(context.Background(), b.ID)
	if got.State != attest.BatchDone || got.Done != 130 || got.Failed != 0 {
		t.Fatalf("batch after the takeover: %+v", got)
	}
	checkOnePerLearner(t, f, b.Achievement, 130)
	dup := session(2)
	dup.Participants[1].Email = strings.ToUpper(dup.Participants[0].Email)
	if _, err := f.svc.StartBatch(context.Background(), "test", dup); err == nil || !strings.Contains(err.Error(), "participants[1].email") {
		t.Errorf("the same participant twice: %v", err)
	}
}

// checkOnePerLearner: the achievement has n credentials, each of another
// learner and delivered by exactly one attestation.
func checkOnePerLearner(t *testing.T, f *fixture, achID string, n int) {
	t.Helper()
	ctx := context.Background()
	cs, total, err := f.iss.Credentials(ctx, issuing.CredentialQuery{AchievementID: achID, Limit: 100000})
	if err != nil || total != n {
		t.Fatalf("%d credentials for %d learners: %v", total, n, err)
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.RecipientEmail] {
			t.Errorf("%s has two credentials", c.RecipientEmail)
		}
		seen[c.RecipientEmail] = true
		if a, err := f.db.AttestationByCredential(ctx, c.ID); err != nil || a.LearnerEmail != c.RecipientEmail {
			t.Errorf("credential %s of %s: attestation %+v %v", c.ID, c.RecipientEmail, a, err)
		}
	}
}

// TestRenderingFailureIssuesNothing: when the PDF cannot be made, the
// credential it was to deliver is not stored either: none listed, none
// found by id, no award in the audit log, nothing for the verifier; the
// same request then succeeds, with one credential.
func TestRenderingFailureIssuesNothing(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		boom := errors.New("the PDF library gave up")
		attest.FailRendering(f.svc, func(string) error { return boom })
		if _, err := f.svc.Issue(ctx, "test", request()); !errors.Is(err, boom) {
			t.Fatalf("issue with a failing renderer: %v", err)
		}
		if cs, total, err := f.iss.Credentials(ctx, issuing.CredentialQuery{Issuer: "ac-lyon"}); err != nil || total != 0 {
			t.Fatalf("%d credentials left after a failed rendering: %+v %v", total, cs, err)
		}
		awarded := func() int {
			log, err := f.iss.AuditLog(ctx, "ac-lyon", 1000)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range log {
				if e.Action == "credential.award" {
					n++
				}
			}
			return n
		}
		if n := awarded(); n != 0 {
			t.Fatalf("%d awards in the audit log after a failed rendering", n)
		}

		attest.FailRendering(f.svc, func(string) error { return nil })
		a, pdf := issue(t, f)
		cs, total, err := f.iss.Credentials(ctx, issuing.CredentialQuery{Issuer: "ac-lyon"})
		if err != nil || total != 1 || cs[0].ID != a.CredentialID || cs[0].State != issuing.StateActive {
			t.Fatalf("after the retry: %d credentials %+v, attestation's %s: %v", total, cs, a.CredentialID, err)
		}
		if n := awarded(); n != 1 {
			t.Errorf("%d awards in the audit log after the retry", n)
		}
		if o, err := f.svc.VerifyFile(ctx, "a.pdf", pdf); err != nil || o.Verdict != attest.VerdictValid {
			t.Errorf("the retried attestation: %v %+v", err, o)
		}
	})
}

// TestBatchRenderingFailure: in a batch, a row whose PDF cannot be made is
// a failed row with its reason, and its participant gets no credential;
// the other rows are delivered. A second batch for those participants,
// once rendering works, completes the session on the same achievement.
func TestBatchRenderingFailure(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sess := session(10)
		for i := range sess.Participants {
			sess.Participants[i].Present = true
		}
		failing := map[string]bool{"stagiaire3@ac-lyon.fr": true, "stagiaire7@ac-lyon.fr": true}
		attest.FailRendering(f.svc, func(email string) error {
			if failing[email] {
				return errors.New("no PDF for " + email)
			}
			return nil
		})
		b, err := f.svc.StartBatch(ctx, "test", sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RunPendingBatches(ctx); err != nil {
			t.Fatal(err)
		}
		b, err = f.svc.Batch(ctx, b.ID)
		if err != nil || b.State != attest.BatchDone || b.Done != 8 || b.Failed != 2 || len(b.Errors) != 2 {
			t.Fatalf("batch: %+v %v", b, err)
		}
		for i, row := range []int{4, 8} {
			if e := b.Errors[i]; e.Row != row || !strings.Contains(e.Message, fmt.Sprintf("no PDF for stagiaire%d@", row-1)) {
				t.Errorf("row error %d: %+v", i, e)
			}
		}
		cs, _, err := f.iss.Credentials(ctx, issuing.CredentialQuery{AchievementID: b.Achievement, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if failing[c.RecipientEmail] {
				t.Errorf("%s, whose PDF failed, holds credential %s", c.RecipientEmail, c.ID)
			}
		}
		checkOnePerLearner(t, f, b.Achievement, 8)
		var buf bytes.Buffer
		if err := f.svc.WriteZip(ctx, &buf, b); err != nil {
			t.Fatal(err)
		}
		if zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil || len(zr.File) != 8 {
			t.Fatalf("ZIP of the batch: %v", err)
		}

		attest.FailRendering(f.svc, func(string) error { return nil })
		again := sess
		again.Participants = nil
		for _, p := range sess.Participants {
			if failing[p.Email] {
				again.Participants = append(again.Participants, p)
			}
		}
		b2, err := f.svc.StartBatch(ctx, "test", again)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RunPendingBatches(ctx); err != nil {
			t.Fatal(err)
		}
		if b2, err = f.svc.Batch(ctx, b2.ID); err != nil || b2.State != attest.BatchDone || b2.Done != 2 || b2.Achievement != b.Achievement {
			t.Fatalf("second batch: %+v %v", b2, err)
		}
		checkOnePerLearner(t, f, b.Achievement, 10)
	})
}

// TestSameTrainingOneAchievement: attestations of one training, asked one
// by one, at once, or by batch, share one achievement; a training that
// differs in what its achievement states gets another.
func TestSameTrainingOneAchievement(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		achOf := func(a *attest.Attestation) string {
			t.Helper()
			c, err := f.iss.Credential(ctx, a.CredentialID)
			if err != nil {
				t.Fatal(err)
			}
			return c.AchievementID
		}
		count := func() int {
			as, err := f.iss.Achievements(ctx, "ac-lyon")
			if err != nil {
				t.Fatal(err)
			}
			return len(as)
		}
		first, _ := issue(t, f)
		req := request()
		req.Learner = attest.Learner{Email: "benoit.roux@ac-lyon.fr", Name: "Benoît Roux"}
		// Only printed: the same training.
		req.Signatory.Image, req.Place = nil, "Villeurbanne"
		second, err := f.svc.Issue(ctx, "test", req)
		if err != nil {
			t.Fatal(err)
		}
		if achOf(first) != achOf(second) || count() != 1 {
			t.Fatalf("two requests for one training: achievements %s and %s, %d in all", achOf(first), achOf(second), count())
		}
		b, err := f.svc.StartBatch(ctx, "test", session(3))
		if err != nil || b.Achievement != achOf(first) {
			t.Fatalf("a batch of the same training: achievement %s, want %s: %v", b.Achievement, achOf(first), err)
		}

		// Another session: other dates, another achievement.
		other := request()
		other.Start, other.End = "2027-01-11", "2027-02-08"
		o, err := f.svc.Issue(ctx, "test", other)
		if err != nil {
			t.Fatal(err)
		}
		if achOf(o) == achOf(first) || count() != 2 {
			t.Fatalf("another session: achievement %s (first %s), %d in all", achOf(o), achOf(first), count())
		}

		// Requests for a new training at the same moment: one achievement.
		racing := request()
		racing.Title = "Coopérer en équipe pluriprofessionnelle"
		const n = 6
		got := make([]*attest.Attestation, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := racing
				r.Learner = attest.Learner{Email: fmt.Sprintf("p%d@ac-lyon.fr", i), Name: fmt.Sprintf("Participant %d", i)}
				got[i], errs[i] = f.svc.Issue(ctx, "test", r)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if achOf(got[i]) != achOf(got[0]) {
				t.Errorf("request %d: achievement %s, request 0: %s", i, achOf(got[i]), achOf(got[0]))
			}
		}
		if count() != 3 {
			t.Errorf("%d achievements after the racing requests, want 3", count())
		}
		if _, pdf := issue(t, f); len(pdf) == 0 {
			t.Error("no PDF")
		}
	})
}

func TestAttendanceReport(t *testing.T) {
	sess := session(40)
	pdf, err := attest.AttendanceReport(sess, "Académie de Lyon", time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdftotext(t, pdf)), " ")
	for _, want := range []string{"Rapport de présence", "Intitulé : Enseigner l'algorithmique", "Réf : ALGO-C4-2026",
		"du 12 octobre 2026 au 14 novembre 2026", "Durée à distance : 3 h 30", "Formateurs : Éloïse Martin, Jérôme Çelik",
		"Inscrits : 40", "Présents : 34", "Rapport édité le : 20 novembre 2026", "Commentaire : Session de l'automne.",
		"Nom Prénom Établissement Présence", "Stagiaire N°0 Lefèvre Collège Jean Moulin – Villeurbanne Présent(e)",
		"Stagiaire N°3 Lefèvre Collège Jean Moulin – Villeurbanne Absent(e)", "Dispositif 26A0100123 / Module 45678 / Session 27913"} {
		if !strings.Contains(squeeze(text), squeeze(want)) {
			t.Errorf("the report does not show %q:\n%s", want, text)
		}
	}
}

// TestSignatureImage: the signatory's scanned signature is drawn on the
// attestation, and the record does not keep a copy.
func TestSignatureImage(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	img := image.NewGray(image.Rect(0, 0, 120, 40))
	for x := range 120 {
		img.SetGray(x, 20+x%7, color.Gray{})
	}
	var png bytes.Buffer
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	r := request()
	r.Signatory.Image = png.Bytes()
	a, err := f.svc.Issue(ctx, "test", r)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := f.svc.PDF(ctx, a)
	if !bytes.Contains(pdf, []byte("/Subtype /Image")) {
		t.Error("no image in the PDF")
	}
	if a.Fields.Training.Signatory.Image != nil {
		t.Error("the record keeps the signature image")
	}
	if _, err := attest.ExtractCredential(pdf); err != nil {
		t.Error(err)
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	ctx := context.Background()
	for field, mutate := range map[string]func(r *attest.Request){
		"learner.email":   func(r *attest.Request) { r.Learner.Email = "pas une adresse" },
		"title":           func(r *attest.Request) { r.Title = " " },
		"end":             func(r *attest.Request) { r.End = "2026-01-01" },
		"start":           func(r *attest.Request) { r.Start = "12/10/2026" },
		"hoursRemote":     func(r *attest.Request) { r.HoursRemote = -1 },
		"hoursInPerson":   func(r *attest.Request) { r.HoursInPerson, r.HoursRemote = 0, 0 },
		"competencies[1]": func(r *attest.Request) { r.Competencies = []string{"CC14", "CC99"} },
		"issuer":          func(r *attest.Request) { r.Issuer = "nowhere" },
		"signatory.name":  func(r *attest.Request) { r.Signatory.Name = "" },
		"signatory.image": func(r *attest.Request) { r.Signatory.Image = []byte("GIF89a") },
		"organiser":       func(r *attest.Request) { r.Organiser = "a\x00b" },
	} {
		r := request()
		mutate(&r)
		_, err := f.svc.Issue(ctx, "test", r)
		in, ok := err.(*attest.InputError)
		if !ok || in.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

// BenchmarkBatch1000: a session of 1,000 participants present, from the
// queued batch to the last PDF stored: signing, rendering, embedding,
// storing (SQLite). Reports attestations per second.
func BenchmarkBatch1000(b *testing.B) {
	benchBatch(b, 1000)
}

// BenchmarkBatch100 is the same for 100 attestations: run with -cpu 1
// for the rate per core.
func BenchmarkBatch100(b *testing.B) {
	benchBatch(b, 100)
}

func benchBatch(b *testing.B, n int) {
	f := newFixture(b, storetest.SQLite(b))
	ctx := context.Background()
	sess := session(n)
	for i := range sess.Participants {
		sess.Participants[i].Present = true
	}
	var size int64
	cpu0 := attest.CPUTime()
	for b.Loop() {
		bt, err := f.svc.StartBatch(ctx, "bench", sess)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.svc.RunPendingBatches(ctx); err != nil {
			b.Fatal(err)
		}
		as, err := f.db.BatchAttestations(ctx, bt.ID)
		if err != nil || len(as) != n {
			b.Fatalf("%d attestations: %v", len(as), err)
		}
		size = 0
		for _, a := range as {
			size = max(size, a.PDFSize)
		}
	}
	cpu := attest.CPUTime() - cpu0
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "attestations/s")
	// CPU time of the whole process (every goroutine, GC included) per
	// attestation: the rate per core, which the shared machine's load
	// does not distort as it does wall time.
	b.ReportMetric(cpu.Seconds()*1000/total, "cpu-ms/attestation")
	b.ReportMetric(total/cpu.Seconds(), "attestations/cpu-s")
	b.ReportMetric(float64(size), "max-bytes/pdf")
}
