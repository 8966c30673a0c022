package api

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
)

// attestRoutes registers the attestation API and the verification pages
// for HR.
func (s *Server) attestRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/attestations", s.authed(s.createAttestation)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/attestations/batches", s.authed(s.createBatch)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/attestations/batches/{id}", s.authed(s.getBatch)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/attestations/batches/{id}/attestations.zip", s.authed(s.batchZip)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/attestations/batches/{id}/attestations.pdf", s.authed(s.batchMergedPDF)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/attestations/batches/{id}/report.pdf", s.authed(s.batchReport)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/attestations/{id}", s.authed(s.getAttestation)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/attestations/{id}/pdf", s.authed(s.attestationPDF)).Methods(http.MethodGet)
	r.HandleFunc("/verify", s.verifyPage).Methods(http.MethodGet)
	r.HandleFunc("/verify", s.verifyForm).Methods(http.MethodPost)
	r.HandleFunc("/v/{code}", s.verifyCodePage).Methods(http.MethodGet)
}

// attestFail maps attest's errors, then issuing's and auth's.
func (s *Server) attestFail(w http.ResponseWriter, r *http.Request, err error) {
	var in *attest.InputError
	switch {
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, "invalid", in.Error(), in.Field)
	case errors.Is(err, attest.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, attest.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

type attestationJSON struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	PDF        string `json:"pdf"`
	Credential string `json:"credential"`
	Verify     string `json:"verify"`
	Issuer     string `json:"issuer"`
	Learner    struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"learner"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Created string `json:"created"`
}

func (s *Server) attestationOut(a *attest.Attestation) attestationJSON {
	out := attestationJSON{ID: a.ID, Code: a.Code, PDF: s.att.PDFURL(a.ID), Credential: s.iss.CredentialURL(a.CredentialID),
		Verify: s.att.VerifyURL(a.Code), Issuer: a.Issuer, SHA256: a.PDFSHA256, Size: a.PDFSize, Created: a.CreatedAt.UTC().Format(time.RFC3339)}
	out.Learner.Email, out.Learner.Name = a.LearnerEmail, a.LearnerName
	return out
}

// createAttestation: trainers and admins of the issuer (tokens: awards:write).
func (s *Server) createAttestation(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in attest.Request
	if !decode(w, r, &in) {
		return
	}
	if !allow(w, p, in.Issuer, auth.RoleTrainer, auth.ScopeAward) {
		return
	}
	a, err := s.att.Issue(r.Context(), actor(p), in)
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	w.Header().Set("Location", s.att.PDFURL(a.ID))
	writeJSON(w, http.StatusCreated, s.attestationOut(a))
}

// attestationFor finds an attestation the principal may read: the issuer's
// trainers and admins, and the learner it was issued to.
func (s *Server) attestationFor(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*attest.Attestation, bool) {
	a, err := s.att.Attestation(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.attestFail(w, r, err)
		return nil, false
	}
	learner := p.Kind == auth.KindUser && p.Email != "" && badges.NormalizeEmail(p.Email) == a.LearnerEmail
	if learner {
		return a, true
	}
	if !allow(w, p, a.Issuer, auth.RoleTrainer, auth.ScopeRead) {
		return nil, false
	}
	return a, true
}

func (s *Server) getAttestation(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if a, ok := s.attestationFor(w, r, p); ok {
		writeJSON(w, http.StatusOK, s.attestationOut(a))
	}
}

func (s *Server) attestationPDF(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a, ok := s.attestationFor(w, r, p)
	if !ok {
		return
	}
	pdf, err := s.att.PDF(r.Context(), a)
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="attestation-%s.pdf"`, a.Code))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(pdf)
}

func (s *Server) batchOut(b *attest.Batch) map[string]any {
	errs := b.Errors
	if errs == nil {
		errs = []attest.RowError{}
	}
	url := s.att.BatchURL(b.ID)
	out := map[string]any{"id": b.ID, "url": url, "state": b.State, "total": b.Total, "done": b.Done, "failed": b.Failed, "errors": errs,
		"zip": url + "/attestations.zip", "report": url + "/report.pdf", "output": attest.OutputZIP}
	if sess, err := b.SessionOf(); err == nil && sess.Output == attest.OutputPDF {
		out["output"], out["pdf"] = attest.OutputPDF, url+"/attestations.pdf"
	}
	if b.MergedSHA256 != "" {
		out["pdfSha256"], out["pdfSize"] = b.MergedSHA256, b.MergedSize
	}
	return out
}

// createBatch queues the attestations of a session's participants who
// were present: 202 with the batch to follow.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in attest.Session
	if !decode(w, r, &in) {
		return
	}
	if !allow(w, p, in.Issuer, auth.RoleTrainer, auth.ScopeAward) {
		return
	}
	b, err := s.att.StartBatch(r.Context(), actor(p), in)
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	w.Header().Set("Location", s.att.BatchURL(b.ID))
	writeJSON(w, http.StatusAccepted, s.batchOut(b))
}

func (s *Server) batchFor(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*attest.Batch, bool) {
	b, err := s.att.Batch(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.attestFail(w, r, err)
		return nil, false
	}
	if !allow(w, p, b.Issuer, auth.RoleTrainer, auth.ScopeRead) {
		return nil, false
	}
	return b, true
}

func (s *Server) getBatch(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if b, ok := s.batchFor(w, r, p); ok {
		writeJSON(w, http.StatusOK, s.batchOut(b))
	}
}

func (s *Server) batchZip(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	b, ok := s.batchFor(w, r, p)
	if !ok {
		return
	}
	if b.State != attest.BatchDone {
		writeError(w, http.StatusConflict, "not_ready", fmt.Sprintf("the batch is %s (%d of %d done); the ZIP is ready when it is done", b.State, b.Done, b.Total), "")
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="attestations-`+b.ID[:8]+`.zip"`)
	w.Header().Set("Cache-Control", "private, no-store")
	// Streamed: a session of thousands is hundreds of megabytes. An error
	// midway can only cut the answer short, which the ZIP's missing
	// central directory makes visible.
	if err := s.att.WriteZip(r.Context(), w, b); err != nil && r.Context().Err() == nil {
		s.log.ErrorContext(r.Context(), "attestation zip", "batch", b.ID, "err", err)
	}
}

// batchMergedPDF sends the merged PDF of a batch made with output "pdf",
// as stored: its SHA-256 is the one recorded.
func (s *Server) batchMergedPDF(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	b, ok := s.batchFor(w, r, p)
	if !ok {
		return
	}
	if sess, err := b.SessionOf(); err != nil || sess.Output != attest.OutputPDF {
		writeError(w, http.StatusNotFound, "not_found", "this batch was made without a merged PDF (output \"pdf\"); its attestations come as a ZIP", "")
		return
	}
	if b.State != attest.BatchDone {
		writeError(w, http.StatusConflict, "not_ready", fmt.Sprintf("the batch is %s (%d of %d done); the merged PDF is ready when it is done", b.State, b.Done, b.Total), "")
		return
	}
	pdf, err := s.att.MergedPDF(r.Context(), b)
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="attestations-`+b.ID[:8]+`.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	if sum, err := hex.DecodeString(b.MergedSHA256); err == nil {
		w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":") // RFC 9530
	}
	w.Write(pdf)
}

func (s *Server) batchReport(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	b, ok := s.batchFor(w, r, p)
	if !ok {
		return
	}
	sess, err := b.SessionOf()
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	iss, err := s.iss.Issuer(r.Context(), b.Issuer)
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	pdf, err := attest.AttendanceReport(sess, iss.Name, time.Now())
	if err != nil {
		s.attestFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="rapport-de-presence.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(pdf)
}

// Verification for HR: public pages, in French, that work without
// JavaScript.

// maxVerifyFiles caps one form; maxVerifyBody the whole upload.
const (
	maxVerifyFiles = 20
	maxVerifyBody  = 64 << 20
)

var verifyTmpl = template.Must(template.New("verify").Funcs(template.FuncMap{
	"code":  attest.FormatCode,
	"hours": attest.Hours,
	"join":  strings.Join,
	"label": func(v string) string { return verdictLabels[v] },
	"inc":   func(i int) int { return i + 1 },
}).Parse(`<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Outcomes}}Résultat de la vérification{{else}}Vérifier une attestation{{end}} – Insigne</title>
<style>body{font-family:Marianne,Arial,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#161616;line-height:1.5}
h1,h2{color:#000091}a{color:#000091}label{display:block;font-weight:bold;margin-top:1rem}
input,button{font:inherit;margin-top:.25rem}button{background:#000091;color:#fff;border:0;padding:.5rem 1rem;margin-top:1rem}
button:focus,input:focus,a:focus{outline:3px solid #0a76f6;outline-offset:2px}
.verdict{font-weight:bold;padding:.5rem;border-left:6px solid}.valid{border-color:#18753c;color:#18753c}
.revoked,.expired,.modified,.invalid,.unknown{border-color:#ce0500;color:#ce0500}dt{font-weight:bold}.hint{color:#3a3a3a}</style></head>
<body><main>
{{if .Outcomes}}<h1>Résultat de la vérification</h1>
{{range .Outcomes}}<section aria-labelledby="r{{.N}}">
<h2 id="r{{.N}}">{{if .O.Name}}{{.O.Name}}{{else if .Code}}Code {{.Code}}{{else}}Document{{end}}</h2>
<p class="verdict {{.O.Verdict}}" role="status">{{.Label}} — {{.O.Message}}</p>
{{with .O.Attestations}}<table><caption>Attestations du recueil, dans l'ordre des pages</caption>
<thead><tr><th scope="col">N°</th><th scope="col">Participant</th><th scope="col">Code</th><th scope="col">Résultat</th></tr></thead><tbody>
{{range $i, $a := .}}<tr><td>{{inc $i}}</td><td>{{with $a.Authentic}}{{.Learner.Name}}{{else}}—{{end}}</td><td>{{with $a.Authentic}}{{code .Code}}{{end}}</td><td class="{{$a.Verdict}}">{{label $a.Verdict}}{{with $a.Authentic}}{{if .Reason}} ({{.Reason}}){{end}}{{end}}</td></tr>
{{end}}</tbody></table>{{end}}
{{with .O.Authentic}}<h3>Informations authentiques</h3><dl>
<dt>Participant</dt><dd>{{.Learner.Name}}</dd>
<dt>Intitulé</dt><dd>{{.Training.Title}}</dd>
{{if .Training.Parcours}}<dt>Parcours</dt><dd>{{.Training.Parcours}}</dd>{{end}}
{{if .Training.GaiaDispositif}}<dt>GAIA</dt><dd>dispositif {{.Training.GaiaDispositif}}{{if .Training.GaiaModule}}, module {{.Training.GaiaModule}}{{end}}{{if .Training.GaiaSession}}, session {{.Training.GaiaSession}}{{end}}</dd>{{end}}
<dt>Dates</dt><dd>du {{.Training.Start}} au {{.Training.End}}</dd>
<dt>Durée</dt><dd>{{hours .Training.HoursInPerson}} en présence, {{hours .Training.HoursRemote}} à distance ({{.Modality}})</dd>
<dt>Organisateur</dt><dd>{{.Training.Organiser}}</dd>
{{if .Training.Trainers}}<dt>Formateurs</dt><dd>{{join .Training.Trainers ", "}}</dd>{{end}}
{{if .Competencies}}<dt>Compétences</dt><dd><ul>{{range .Competencies}}<li>{{.Code}} – {{.Statement}}</li>{{end}}</ul></dd>{{end}}
<dt>Signataire</dt><dd>{{.Training.Signatory.Name}}, {{.Training.Signatory.Role}}</dd>
<dt>Délivrée par</dt><dd>{{.IssuerName}}, le {{.IssuedAt.Format "02/01/2006"}}</dd>
<dt>Code</dt><dd>{{code .Code}}</dd>
{{if .Reason}}<dt>Motif du retrait</dt><dd>{{.Reason}}</dd>{{end}}
</dl>{{end}}
{{with .O.Report}}<details><summary>Détail des contrôles techniques</summary><ul>{{range .Checks}}<li>{{if .OK}}réussi{{else if .Warning}}avertissement{{else}}échec{{end}} : {{.Name}} — {{.Message}}</li>{{end}}</ul></details>{{end}}
</section>{{end}}
<p><a href="/verify">Vérifier un autre document</a></p>
{{else}}<h1>Vérifier une attestation de formation</h1>
<p>Déposez l'attestation reçue (PDF), un badge (image PNG ou SVG) ou une attestation numérique (JSON), ou saisissez le code imprimé sur l'attestation. Rien n'est conservé.</p>
{{if .Error}}<p class="verdict invalid" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/verify" enctype="multipart/form-data">
<label for="file">Fichiers à vérifier (un ou plusieurs, 16 Mio au plus chacun)</label>
<input type="file" id="file" name="file" multiple accept=".pdf,.png,.svg,.json,.jws,application/pdf,image/png,image/svg+xml,application/json">
<label for="code">Ou code de vérification</label>
<span class="hint" id="code-hint">10 caractères, par exemple ABCD-2345-XY (il n'y a ni 0, ni O, ni 1, ni I, ni L).</span>
<input type="text" id="code" name="code" autocomplete="off" spellcheck="false" aria-describedby="code-hint" size="16" maxlength="20">
<div><button type="submit">Vérifier</button></div>
</form>{{end}}
</main></body></html>`))

var verdictLabels = map[string]string{
	attest.VerdictValid: "Valide", attest.VerdictRevoked: "Retirée", attest.VerdictExpired: "Expirée",
	attest.VerdictModified: "Modifiée", attest.VerdictUnknown: "Inconnue", attest.VerdictInvalid: "Non valable",
}

type outcomeView struct {
	N     int
	O     *attest.Outcome
	Label string
	Code  string
}

func (s *Server) renderVerify(w http.ResponseWriter, r *http.Request, status int, data map[string]any) {
	if s.web != nil {
		s.verifyHTML(w, r, status, data)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := verifyTmpl.Execute(w, data); err != nil {
		s.log.ErrorContext(r.Context(), "verify page", "err", err)
	}
}

func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	s.renderVerify(w, r, http.StatusOK, map[string]any{})
}

func (s *Server) verifyCodePage(w http.ResponseWriter, r *http.Request) {
	code := mux.Vars(r)["code"]
	o, err := s.att.VerifyCode(r.Context(), code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if o.Verdict == attest.VerdictUnknown {
		status = http.StatusNotFound
	}
	s.renderVerify(w, r, status, map[string]any{"Outcomes": []outcomeView{{N: 1, O: o, Label: verdictLabels[o.Verdict], Code: code}}})
}

// verifyForm reads the form: any number of files (up to maxVerifyFiles)
// and a code; each gets its verdict.
func (s *Server) verifyForm(w http.ResponseWriter, r *http.Request) {
	formErr := func(msg string) {
		s.renderVerify(w, r, http.StatusBadRequest, map[string]any{"Error": msg})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxVerifyBody)
	mr, err := r.MultipartReader()
	if err != nil {
		formErr("Le formulaire n'a pas pu être lu : envoyez-le depuis cette page.")
		return
	}
	var views []outcomeView
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				formErr(fmt.Sprintf("L'envoi dépasse %d Mio : vérifiez moins de fichiers à la fois.", maxVerifyBody>>20))
				return
			}
			formErr("Le formulaire n'a pas pu être lu.")
			return
		}
		o, code, err := s.verifyPart(r, part)
		part.Close()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				formErr(fmt.Sprintf("L'envoi dépasse %d Mio : vérifiez moins de fichiers à la fois.", maxVerifyBody>>20))
				return
			}
			s.fail(w, r, err)
			return
		}
		if o == nil {
			continue
		}
		if len(views) == maxVerifyFiles {
			formErr(fmt.Sprintf("Au plus %d documents à la fois.", maxVerifyFiles))
			return
		}
		views = append(views, outcomeView{N: len(views) + 1, O: o, Label: verdictLabels[o.Verdict], Code: code})
	}
	if len(views) == 0 {
		formErr("Choisissez au moins un fichier ou saisissez un code.")
		return
	}
	s.renderVerify(w, r, http.StatusOK, map[string]any{"Outcomes": views})
}

// verifyPart verifies one form part: a file, or the code field (which may
// also hold the QR link). It returns nil for an empty part.
func (s *Server) verifyPart(r *http.Request, part *multipart.Part) (*attest.Outcome, string, error) {
	switch part.FormName() {
	case "code":
		b, err := io.ReadAll(io.LimitReader(part, 512))
		if err != nil {
			return nil, "", err
		}
		code := strings.TrimSpace(string(b))
		if i := strings.LastIndex(code, "/v/"); i >= 0 {
			code = code[i+3:]
		}
		if code == "" {
			return nil, "", nil
		}
		o, err := s.att.VerifyCode(r.Context(), code)
		return o, code, err
	case "file":
		b, err := io.ReadAll(io.LimitReader(part, attest.MaxPDFSize+1))
		if err != nil {
			return nil, "", err
		}
		if len(b) == 0 && part.FileName() == "" {
			return nil, "", nil
		}
		if len(b) > attest.MaxPDFSize {
			return &attest.Outcome{Name: part.FileName(), Verdict: attest.VerdictUnknown, Message: "Fichier trop volumineux (plus de 16 Mio) : ce n'est pas une attestation."}, "", nil
		}
		o, err := s.att.VerifyFile(r.Context(), part.FileName(), b)
		return o, "", err
	}
	return nil, "", nil
}

// verifyJSON is the answer of POST /api/v1/verify: the verification
// report as before, and for attestations what HR needs to know.
type verifyJSON struct {
	*badges.Report
	Attestation *attestationVerdict `json:"attestation,omitempty"`
}

type attestationVerdict struct {
	Verdict   string            `json:"verdict"`
	Message   string            `json:"message"`
	Modified  bool              `json:"modified"`
	SHA256    string            `json:"sha256"`
	Authentic *attest.Authentic `json:"authentic,omitempty"`
	// For a merged PDF: its batch, when it is the file delivered, and
	// the verdict of every attestation in it.
	Batch        string               `json:"batch,omitempty"`
	Attestations []attestationVerdict `json:"attestations,omitempty"`
}

func verdictOut(o *attest.Outcome) *attestationVerdict {
	v := &attestationVerdict{Verdict: o.Verdict, Message: o.Message, Modified: o.Modified, SHA256: o.SHA256, Authentic: o.Authentic, Batch: o.Batch}
	for i := range o.Attestations {
		v.Attestations = append(v.Attestations, *verdictOut(&o.Attestations[i]))
	}
	return v
}

// verifyAttestation answers POST /api/v1/verify when attestations are
// served: a PDF always gets an attestation verdict; a credential gets one
// when it is an attestation's.
func (s *Server) verifyAttestation(w http.ResponseWriter, r *http.Request, body []byte) {
	o, err := s.att.VerifyFile(r.Context(), "", body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	isPDF := strings.HasPrefix(string(body[:min(len(body), 5)]), "%PDF-")
	if o.Report == nil && len(o.Attestations) > 0 {
		// A merged PDF: the report says what the container holds; the
		// verdict of each credential is in the attestations.
		verdict := badges.Valid
		if o.Verdict != attest.VerdictValid {
			verdict = badges.Invalid
		}
		o.Report = &badges.Report{Verdict: verdict, Format: "pdf", Checks: []badges.Check{{Name: "container", OK: true,
			Message: fmt.Sprintf("%d credentials attached to the PDF (a merged PDF of attestations)", len(o.Attestations))}}}
	}
	if o.Report == nil {
		if !isPDF {
			// As before: not a credential in any supported container.
			_, verr := s.verifier.Verify(r.Context(), body, badges.Options{})
			msg := "the input holds no credential"
			if verr != nil {
				msg = verr.Error()
			}
			writeError(w, http.StatusBadRequest, "unusable_input", msg, "")
			return
		}
		o.Report = &badges.Report{Verdict: badges.Invalid, Format: "pdf",
			Checks: []badges.Check{{Name: "parse", OK: false, Message: attest.ErrNoCredential.Error()}}}
	}
	out := verifyJSON{Report: o.Report}
	if isPDF || o.Authentic != nil {
		out.Attestation = verdictOut(o)
	}
	writeJSON(w, http.StatusOK, out)
}
