package api_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/store/storetest"
)

// pagesServer is a test server with every page on (frameworks,
// backpacks, attestations), its attestation service, and the people the
// page tests need.
type pagesServer struct {
	*testServer
	att                                     *attest.Service
	admin, trainer, other, ana, jules, root *session
	anaID                                   string
}

func newPagesServer(t *testing.T) *pagesServer {
	t.Helper()
	ps := &pagesServer{}
	ps.testServer = newTestServer(t, storetest.SQLite(t), withPages(t), func(_ string, c *api.Config) { ps.att = c.Attest })
	ctx := context.Background()
	ps.createIssuer(t, "ac-lyon")
	ps.createIssuer(t, "ac-nice")
	ps.createIssuer(t, "plateforme")
	const pw = "un mot de passe assez long"
	ps.admin = ps.newSession(t, ps.addMember(t, ps.Root, "ac-lyon", "admin@ac-lyon.fr", "admin", pw))
	ps.trainer = ps.newSession(t, ps.addMember(t, ps.Root, "ac-lyon", "formatrice@ac-lyon.fr", "trainer", pw))
	ps.other = ps.newSession(t, ps.addMember(t, ps.Root, "ac-nice", "admin@ac-nice.fr", "admin", pw))
	user := func(email string, root bool) string {
		u, err := ps.DB.CreateUser(ctx, auth.User{Email: email, Name: "Nom de " + email, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	ps.anaID = user("ana.martin@ac-lyon.fr", false)
	ps.ana = ps.newSession(t, ps.anaID)
	ps.jules = ps.newSession(t, user("jules.bernard@ac-lyon.fr", false))
	ps.root = ps.newSession(t, user("operateur@education.gouv.fr", true))
	return ps
}

// page GETs a page as sess (nil: nobody) and returns the answer.
func (ps *pagesServer) page(t *testing.T, sess *session, path string) *resp {
	t.Helper()
	r := req{Header: map[string]string{"Accept": "text/html"}}
	if sess != nil {
		r.Session = &session{Cookie: sess.Cookie}
	}
	return ps.do(t, "GET", path, r)
}

type upload struct {
	name string
	body []byte
}

// post sends a page's form as a browser does (multipart, with the
// session's CSRF token unless csrf is false).
func (ps *pagesServer) post(t *testing.T, sess *session, path string, fields map[string]string, files map[string]upload, csrf bool) *resp {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		mw.WriteField("csrf_token", auth.CSRFToken(sess.CSRF))
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, f := range files {
		w, _ := mw.CreateFormFile(k, f.name)
		w.Write(f.body)
	}
	mw.Close()
	return ps.do(t, "POST", path, req{Session: &session{Cookie: sess.Cookie}, Body: body.Bytes(), ContentType: mw.FormDataContentType(),
		Header: map[string]string{"Accept": "text/html"}})
}

// text is a page's answer as text, entities decoded.
func (r *resp) text() string { return html.UnescapeString(string(r.Body)) }

func (ps *pagesServer) attest(t *testing.T, email, title string) (id, code string) {
	t.Helper()
	body := map[string]any{"issuer": "ac-lyon", "learner": map[string]string{"email": email, "name": "Nom de " + email},
		"title": title, "start": "2026-10-12", "end": "2026-10-13", "hoursInPerson": 6, "hoursRemote": 3,
		"organiser": "EAFC de l'académie de Lyon", "trainers": []string{"Éloïse Martin"}, "competencies": []string{"CC4"},
		"signatory": map[string]string{"name": "Françoise Bézier", "role": "Directrice de l'EAFC"}}
	var att struct{ ID, Code string }
	ps.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: ps.Root, JSON: body}).json(t, &att)
	return att.ID, att.Code
}

// The learner's attestations page lists their own attestations (code,
// verification link, PDF, state) and no one else's; the PDF is theirs
// only.
func TestLearnerAttestationsPage(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	anaID, anaCode := ps.attest(t, "Ana.Martin@ac-lyon.fr", "Différencier en classe hétérogène")
	julesID, _ := ps.attest(t, "jules.bernard@ac-lyon.fr", "Évaluer par compétences")

	res := ps.page(t, ps.ana, "/backpack/attestations")
	page := res.text()
	if res.Status != 200 {
		t.Fatalf("attestations page: %s", res)
	}
	for _, want := range []string{"Différencier en classe hétérogène", attest.FormatCode(anaCode), `href="/v/` + anaCode + `"`,
		`href="/backpack/attestations/` + anaID + `/pdf"`, "du 12 octobre 2026 au 13 octobre 2026", "6 h en présence", "Valide", `href="/backpack/attestations" aria-current="page"`} {
		if !strings.Contains(page, want) {
			t.Errorf("attestations page lacks %q", want)
		}
	}
	if strings.Contains(page, "Évaluer par compétences") || strings.Contains(page, julesID) {
		t.Error("Ana's page shows Jules's attestation")
	}
	pdf := ps.page(t, ps.ana, "/backpack/attestations/"+anaID+"/pdf")
	if pdf.Status != 200 || pdf.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
		t.Errorf("Ana's PDF: %d %s", pdf.Status, pdf.Header.Get("Content-Type"))
	}
	// Someone else's attestation, or none: the same 404.
	for _, id := range []string{julesID, "00000000-0000-4000-8000-000000000000", "nope"} {
		if res := ps.page(t, ps.ana, "/backpack/attestations/"+id+"/pdf"); res.Status != 404 || bytes.HasPrefix(res.Body, []byte("%PDF")) {
			t.Errorf("attestation %s as Ana: %d", id, res.Status)
		}
	}
	// Revoked: the page says so.
	var a struct{ Credential string }
	ps.must(t, 200, "GET", "/api/v1/attestations/"+anaID, req{Bearer: ps.Root}).json(t, &a)
	credID := a.Credential[strings.LastIndex(a.Credential, "/")+1:]
	ps.must(t, 200, "POST", "/api/v1/credentials/"+credID+"/revoke", req{Bearer: ps.Root, JSON: map[string]string{"reason": "erreur"}})
	if page := ps.page(t, ps.ana, "/backpack/attestations").text(); !strings.Contains(page, "badge-status-revoked") {
		t.Error("a revoked attestation is not shown as revoked")
	}
	// Nobody signed in: sent to sign in; the English page is English.
	if res := ps.page(t, nil, "/backpack/attestations"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Errorf("anonymous: %s", res)
	}
	if res := ps.page(t, nil, "/backpack/attestations/"+anaID+"/pdf"); res.Status != http.StatusSeeOther {
		t.Errorf("anonymous PDF: %s", res)
	}
	if page := ps.page(t, ps.jules, "/backpack/attestations?lang=en").text(); !strings.Contains(page, "Évaluer par compétences") || !strings.Contains(page, "from 12 October 2026 to 13 October 2026") {
		t.Errorf("Jules's English page:\n%s", page)
	}
}

// The exports page offers each credential in every format it exports to,
// the CLR of all or some, the personal-data archive; erasure asks for the
// box to be ticked and the session's CSRF token.
func TestLearnerExportsPage(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	ach := ps.createAchievement(t, ps.Root, "ac-lyon", "Coopérer en équipe")
	creds := ps.award(t, ps.Root, ach, "ana.martin@ac-lyon.fr")
	page := ps.page(t, ps.ana, "/backpack/exports").text()
	for _, f := range []string{"json", "jwt", "png", "svg"} {
		href := "/api/v1/backpack/credentials/" + creds[0] + "/export?format=" + f
		if !strings.Contains(page, `href="`+href+`"`) {
			t.Errorf("exports page lacks the %s link", f)
			continue
		}
		// The link works for Ana, and for no one else.
		if res := ps.do(t, "GET", href, req{Session: &session{Cookie: ps.ana.Cookie}}); res.Status != 200 {
			t.Errorf("%s export: %s", f, res)
		}
		if res := ps.do(t, "GET", href, req{Session: &session{Cookie: ps.jules.Cookie}}); res.Status != 404 {
			t.Errorf("%s export by Jules: %s", f, res)
		}
	}
	for _, want := range []string{`action="/backpack/clr"`, `name="credential" value="` + creds[0] + `"`, `href="/api/v1/backpack/export"`, `action="/backpack/erase"`} {
		if !strings.Contains(page, want) {
			t.Errorf("exports page lacks %q", want)
		}
	}
	// A CLR of a selection, and of nothing ticked.
	res := ps.post(t, ps.ana, "/backpack/clr", map[string]string{"back": "exports", "scope": "selection", "credential": creds[0]}, nil, true)
	if res.Status != 200 || !strings.Contains(string(res.Body), "ClrCredential") || !strings.Contains(string(res.Body), creds[0]) {
		t.Errorf("CLR of a selection: %s", res)
	}
	res = ps.post(t, ps.ana, "/backpack/clr", map[string]string{"back": "exports", "scope": "selection"}, nil, true)
	if res.Status != 400 || !strings.Contains(res.text(), "Cochez au moins un badge") || !strings.Contains(res.text(), `href="#clr-pick"`) {
		t.Errorf("CLR of nothing: %s", res)
	}
	// Erasure: refused without the box, or without the CSRF token.
	res = ps.post(t, ps.ana, "/backpack/erase", nil, nil, true)
	if res.Status != 400 || !strings.Contains(res.text(), `href="#erase-confirm"`) {
		t.Errorf("erasure without the box: %s", res)
	}
	if res := ps.post(t, ps.ana, "/backpack/erase", map[string]string{"confirm": "yes"}, nil, false); res.Status != 403 {
		t.Errorf("erasure without the CSRF token: %s", res)
	}
	if res := ps.page(t, ps.ana, "/backpack"); res.Status != 200 {
		t.Fatalf("Ana's backpack after the refused erasures: %s", res)
	}
	res = ps.post(t, ps.ana, "/backpack/erase", map[string]string{"confirm": "yes"}, nil, true)
	if res.Status != 200 || !strings.Contains(res.text(), "Vos données ont été effacées") || strings.Contains(res.text(), "ana.martin") {
		t.Fatalf("erasure: %s", res)
	}
	cleared := false
	for _, c := range res.Header["Set-Cookie"] {
		cleared = cleared || strings.HasPrefix(c, "insigne_session=;") && strings.Contains(c, "Max-Age=0")
	}
	if !cleared {
		t.Errorf("the session cookie is not cleared: %v", res.Header["Set-Cookie"])
	}
	if res := ps.page(t, ps.ana, "/backpack"); res.Status != http.StatusSeeOther {
		t.Errorf("the erased learner's session still opens the backpack: %s", res)
	}
	if res := ps.page(t, nil, "/backpack/exports"); res.Status != http.StatusSeeOther {
		t.Errorf("anonymous exports page: %s", res)
	}
}

var batchLinkRE = regexp.MustCompile(`^/manage/ac-lyon/attestations/([0-9a-f-]{36})$`)

func sessionForm(title string) map[string]string {
	return map[string]string{"title": title, "start": "2026-11-16", "end": "2026-11-17", "hoursInPerson": "6", "hoursRemote": "1,5",
		"organiser": "EAFC de l'académie de Lyon", "trainers": "Éloïse Martin, Paul Durand", "competencies": "CC4, P3",
		"signatory.name": "Françoise Bézier", "signatory.role": "Directrice de l'EAFC", "output": "pdf"}
}

// Staff make a session's attestations from the form and the participant
// list, follow them, and download them; a bad field or line is named.
func TestBatchPages(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	var csv strings.Builder
	csv.WriteString("nom;courriel;établissement;présent\n")
	for i := range 12 {
		present := "oui"
		if i%4 == 3 {
			present = "non"
		}
		fmt.Fprintf(&csv, "Stagiaire %d;stagiaire%02d@ac-lyon.fr;Collège %d – Lyon;%s\n", i, i, i, present)
	}
	if page := ps.page(t, ps.trainer, "/manage/ac-lyon/attestations").text(); !strings.Contains(page, `action="/manage/ac-lyon/attestations"`) ||
		!strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, `name="csrf_token"`) {
		t.Fatalf("batches page has no form:\n%s", page)
	}
	res := ps.post(t, ps.trainer, "/manage/ac-lyon/attestations", sessionForm("Enseigner avec le numérique"),
		map[string]upload{"participants": {"session.csv", []byte(csv.String())}}, true)
	m := batchLinkRE.FindStringSubmatch(res.Header.Get("Location"))
	if res.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("batch form: %s (Location %q)", res, res.Header.Get("Location"))
	}
	batchPath := m[0]
	page := ps.page(t, ps.trainer, batchPath).text()
	if !strings.Contains(page, `data-job="/api/v1/attestations/batches/`+m[1]+`"`) || !strings.Contains(page, `<progress id="job-progress" max="9"`) ||
		!strings.Contains(page, "9 présents sur 12 inscrits") || strings.Contains(page, "attestations.zip") {
		t.Errorf("queued batch page:\n%s", page)
	}
	if _, err := ps.att.RunPendingBatches(context.Background()); err != nil {
		t.Fatal(err)
	}
	page = ps.page(t, ps.trainer, batchPath).text()
	for _, want := range []string{`data-finished="true"`, `value="9"`, "terminé", `href="/api/v1/attestations/batches/` + m[1] + `/attestations.pdf"`,
		`/attestations.zip"`, `/report.pdf"`, "Enseigner avec le numérique"} {
		if !strings.Contains(page, want) {
			t.Errorf("finished batch page lacks %q", want)
		}
	}
	if res := ps.do(t, "GET", "/api/v1/attestations/batches/"+m[1]+"/attestations.pdf", req{Session: &session{Cookie: ps.trainer.Cookie}}); res.Status != 200 || !bytes.HasPrefix(res.Body, []byte("%PDF-")) {
		t.Errorf("merged PDF through the page's link: %d", res.Status)
	}
	list := ps.page(t, ps.admin, "/manage/ac-lyon/attestations").text()
	if !strings.Contains(list, `href="`+batchPath+`"`) || !strings.Contains(list, "9 / 9") {
		t.Errorf("batch list:\n%s", list)
	}
	// Problems named: a field, a participant's line, a missing file.
	bad := sessionForm("")
	res = ps.post(t, ps.trainer, "/manage/ac-lyon/attestations", bad, map[string]upload{"participants": {"s.csv", []byte(csv.String())}}, true)
	if res.Status != 400 || !strings.Contains(res.text(), `href="#title"`) || !strings.Contains(res.text(), "Intitulé de la formation") {
		t.Errorf("no title: %s", res)
	}
	res = ps.post(t, ps.trainer, "/manage/ac-lyon/attestations", sessionForm("Une autre"),
		map[string]upload{"participants": {"s.csv", []byte("nom;courriel\nAna;ana@ac-lyon.fr\nJules;pas-une-adresse\n")}}, true)
	if res.Status != 400 || !strings.Contains(res.text(), "ligne 3, email") || !strings.Contains(res.text(), `href="#participants"`) {
		t.Errorf("bad address on line 3: %s", res)
	}
	if !strings.Contains(res.text(), `value="Une autre"`) {
		t.Error("the form does not keep what was typed")
	}
	bad = sessionForm("Une autre")
	bad["hoursRemote"] = "deux"
	res = ps.post(t, ps.trainer, "/manage/ac-lyon/attestations", bad, map[string]upload{"participants": {"s.csv", []byte(csv.String())}}, true)
	if res.Status != 400 || !strings.Contains(res.text(), `href="#hoursRemote"`) {
		t.Errorf("hours in words: %s", res)
	}
	if res := ps.post(t, ps.trainer, "/manage/ac-lyon/attestations", sessionForm("Une autre"), nil, true); res.Status != 400 || !strings.Contains(res.text(), `href="#participants"`) {
		t.Errorf("no file: %s", res)
	}
	if bs, err := ps.att.Batches(context.Background(), "ac-lyon"); err != nil || len(bs) != 1 {
		t.Errorf("refused forms made batches: %d %v", len(bs), err)
	}
}

// Frameworks: listed with their exports for staff; imported by admins,
// with the problem named when the file is wrong.
func TestFrameworkPages(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	page := ps.page(t, ps.trainer, "/manage/ac-lyon/frameworks").text()
	if !strings.Contains(page, "Moodle CSV") || !strings.Contains(page, "format=case") || strings.Contains(page, `action="/manage/ac-lyon/frameworks"`) {
		t.Errorf("trainer's frameworks page (exports, no import form):\n%s", page)
	}
	csv := readTestdata(t, "crcn-edu.moodle.csv")
	res := ps.post(t, ps.admin, "/manage/ac-lyon/frameworks", nil, map[string]upload{"file": {"crcn.csv", csv}}, true)
	loc := res.Header.Get("Location")
	if res.Status != http.StatusSeeOther || !strings.Contains(loc, "done=framework.imported") {
		t.Fatalf("import: %s (%s)", res, loc)
	}
	page = ps.page(t, ps.admin, loc).text()
	if !strings.Contains(page, "Le référentiel a été importé") || !strings.Contains(page, "Cadre numérique enseignant") || !strings.Contains(page, "importé par ac-lyon") {
		t.Errorf("after the import:\n%s", page)
	}
	var fws struct{ Frameworks []struct{ ID, Title string } }
	ps.must(t, 200, "GET", "/api/v1/frameworks", req{Bearer: ps.Root}).json(t, &fws)
	var id string
	for _, f := range fws.Frameworks {
		if f.Title == "Cadre numérique enseignant" {
			id = f.ID
		}
	}
	if id == "" {
		t.Fatalf("imported framework not listed: %+v", fws)
	}
	versions := ps.page(t, ps.trainer, "/manage/ac-lyon/frameworks/"+id).text()
	exportCSV := "/api/v1/frameworks/" + id + "/export?version=1&format=moodle-csv"
	if !strings.Contains(versions, html.UnescapeString(`href="`+exportCSV+`"`)) {
		t.Errorf("versions page lacks %s:\n%s", exportCSV, versions)
	}
	if res := ps.do(t, "GET", exportCSV, req{Session: &session{Cookie: ps.trainer.Cookie}}); res.Status != 200 || !bytes.Equal(res.Body, csv) {
		t.Errorf("the page's Moodle CSV link: %d", res.Status)
	}
	// The same file again: nothing changes, and the page says so.
	res = ps.post(t, ps.admin, "/manage/ac-lyon/frameworks", map[string]string{"format": "moodle-csv"}, map[string]upload{"file": {"crcn.csv", csv}}, true)
	if !strings.Contains(res.Header.Get("Location"), "done=framework.same") {
		t.Errorf("same import: %s", res)
	}
	// A broken CASE file: the problem and where.
	res = ps.post(t, ps.admin, "/manage/ac-lyon/frameworks", nil, map[string]upload{"file": {"f.json", []byte(`{"CFDocument": {"identifier": 42}}`)}}, true)
	if res.Status != 400 || !strings.Contains(res.text(), "CASE 1.0 (JSON)") || !strings.Contains(res.text(), "CFDocument") || !strings.Contains(res.text(), `href="#framework-file"`) {
		t.Errorf("broken CASE: %s", res)
	}
	// Another issuer's administrator may not version it; nobody may
	// change an official framework through the page.
	res = ps.post(t, ps.other, "/manage/ac-nice/frameworks", nil, map[string]upload{"file": {"crcn.csv", bytes.Replace(csv, []byte("Version de travail"), []byte("Version 2"), 1)}}, true)
	if res.Status != 403 || !strings.Contains(res.text(), "appartient à un autre émetteur") {
		t.Errorf("ac-nice versions ac-lyon's framework: %s", res)
	}
	if res := ps.post(t, ps.admin, "/manage/ac-lyon/frameworks", nil, nil, true); res.Status != 400 || !strings.Contains(res.text(), "Choisissez le fichier du référentiel") {
		t.Errorf("no file: %s", res)
	}
	if res := ps.page(t, ps.trainer, "/manage/ac-lyon/frameworks/no-such-framework"); res.Status != 404 {
		t.Errorf("unknown framework: %s", res)
	}
}

// The new pages refuse whoever may not see them: a learner, another
// issuer's staff, a trainer where an admin is needed, anyone but root for
// the statistics of every issuer; a batch of another issuer is not found
// through one's own.
func TestNewPagesRefuse(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	otherBatch, err := ps.att.StartBatch(context.Background(), "test", attest.Session{Training: attest.Training{Issuer: "ac-nice", Title: "Session niçoise",
		Start: "2026-11-16", End: "2026-11-16", HoursInPerson: 3, Organiser: "EAFC de Nice", Signatory: attest.Signatory{Name: "A", Role: "B"}},
		Participants: []attest.Participant{{Email: "x@ac-nice.fr", Name: "X", Present: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  string
		sess *session
		path string
		want int
	}{
		{"learner", ps.ana, "/manage/ac-lyon/attestations", 403},
		{"learner", ps.ana, "/manage/ac-lyon/frameworks", 403},
		{"learner", ps.ana, "/statistics", 403},
		{"ac-nice admin", ps.other, "/manage/ac-lyon/attestations", 403},
		{"ac-nice admin", ps.other, "/manage/ac-lyon/frameworks", 403},
		{"ac-lyon admin", ps.admin, "/statistics", 403},
		{"ac-lyon admin", ps.admin, "/manage/ac-lyon/attestations/" + otherBatch.ID, 404},
		{"ac-lyon admin", ps.admin, "/manage/ac-lyon/attestations/not-a-batch", 404},
		{"ac-nice admin", ps.other, "/manage/ac-nice/attestations/" + otherBatch.ID, 200},
		{"root", ps.root, "/manage/ac-lyon/attestations", 200},
		{"root", ps.root, "/manage/ac-lyon/frameworks", 200},
		{"nobody", nil, "/statistics", http.StatusSeeOther},
		{"nobody", nil, "/manage/ac-lyon/attestations", http.StatusSeeOther},
	} {
		if res := ps.page(t, c.sess, c.path); res.Status != c.want {
			t.Errorf("%s GET %s: %d, want %d", c.who, c.path, res.Status, c.want)
		}
	}
	for _, c := range []struct {
		who  string
		sess *session
		path string
	}{
		{"learner", ps.ana, "/manage/ac-lyon/attestations"},
		{"ac-nice admin", ps.other, "/manage/ac-lyon/attestations"},
		{"trainer", ps.trainer, "/manage/ac-lyon/frameworks"},
		{"ac-nice admin", ps.other, "/manage/ac-lyon/frameworks"},
	} {
		res := ps.post(t, c.sess, c.path, sessionForm("Intrusion"), map[string]upload{"participants": {"s.csv", []byte("nom,courriel\nA,a@ac-lyon.fr\n")},
			"file": {"f.csv", readTestdata(t, "crcn-edu.moodle.csv")}}, true)
		if res.Status != 403 {
			t.Errorf("%s POST %s: %s", c.who, c.path, res)
		}
	}
	if bs, _ := ps.att.Batches(context.Background(), "ac-lyon"); len(bs) != 0 {
		t.Errorf("refused forms made %d batches", len(bs))
	}
	var fws struct{ Frameworks []struct{ Title string } }
	ps.must(t, 200, "GET", "/api/v1/frameworks", req{Bearer: ps.Root}).json(t, &fws)
	if len(fws.Frameworks) != 2 {
		t.Errorf("refused imports stored a framework: %+v", fws)
	}
	// Forms without the CSRF token are refused even for those allowed.
	if res := ps.post(t, ps.admin, "/manage/ac-lyon/attestations", sessionForm("Sans jeton"), map[string]upload{"participants": {"s.csv", []byte("nom,courriel\nA,a@ac-lyon.fr\n")}}, false); res.Status != 403 {
		t.Errorf("batch form without CSRF: %s", res)
	}
	// Navigation: staff links for staff, the root link for root only.
	if page := ps.page(t, ps.trainer, "/manage/ac-lyon").text(); !strings.Contains(page, `href="/manage/ac-lyon/attestations"`) || !strings.Contains(page, `href="/manage/ac-lyon/frameworks"`) || strings.Contains(page, `href="/statistics"`) {
		t.Error("trainer's navigation: want attestations and frameworks, no national statistics")
	}
	if page := ps.page(t, ps.root, "/").text(); !strings.Contains(page, `href="/statistics"`) {
		t.Error("root's navigation lacks the national statistics")
	}
}

// Root's statistics page draws every issuer's charts, the by-issuer one
// included, with their numbers in tables.
func TestRootStatisticsPage(t *testing.T) {
	t.Parallel()
	ps := newPagesServer(t)
	ps.award(t, ps.Root, ps.createAchievement(t, ps.Root, "ac-lyon", "Badge lyonnais"), "a@ac-lyon.fr", "b@ac-lyon.fr")
	ps.award(t, ps.Root, ps.createAchievement(t, ps.Root, "ac-nice", "Badge niçois"), "c@ac-nice.fr")
	page := ps.page(t, ps.root, "/statistics").text()
	for _, want := range []string{`src="/api/v1/statistics/issuers.svg"`, `src="/api/v1/statistics/months.svg"`, "Badges par émetteur",
		"l'ensemble des émetteurs : 3."} {
		if !strings.Contains(page, want) {
			t.Errorf("root statistics page lacks %q", want)
		}
	}
	if strings.Contains(page, "issuer=") {
		t.Error("root's charts are limited to an issuer")
	}
	// The chart behind the page answers root's session, not an admin's.
	if res := ps.do(t, "GET", "/api/v1/statistics/issuers.svg", req{Session: &session{Cookie: ps.root.Cookie}}); res.Status != 200 || !strings.Contains(string(res.Body), "<svg") {
		t.Errorf("root's chart: %s", res)
	}
	if res := ps.do(t, "GET", "/api/v1/statistics/issuers.svg", req{Session: &session{Cookie: ps.admin.Cookie}}); res.Status != 400 && res.Status != 403 {
		t.Errorf("an admin's chart of every issuer: %s", res)
	}
}
