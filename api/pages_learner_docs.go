package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/vcjwt"
	"github.com/insigne/insigne/issuing"
)

// learnerDocPages are the learner's pages for what they take away: their
// training attestations, and the exports of their backpack with the
// erasure of their data.
func (s *Server) learnerDocPages(r *mux.Router) {
	if s.att != nil {
		r.HandleFunc("/backpack/attestations", s.page(s.attestationsPage)).Methods(http.MethodGet)
		r.HandleFunc("/backpack/attestations/{id}/pdf", s.page(s.attestationDownload)).Methods(http.MethodGet)
	}
	if s.backpack != nil {
		r.HandleFunc("/backpack/exports", s.page(s.exportsPage)).Methods(http.MethodGet)
		r.HandleFunc("/backpack/erase", s.page(s.eraseSubmit)).Methods(http.MethodPost)
	}
}

// learnerEmails are the addresses whose attestations are the signed-in
// person's: their account's, and the further ones they verified.
func (s *Server) learnerEmails(pr *pageReq) ([]string, error) {
	out := []string{badges.NormalizeEmail(pr.p.Email)}
	if s.backpack != nil && pr.p.UserID != "" {
		ids, err := s.backpack.Identities(pr.r.Context(), pr.p.UserID)
		if err != nil {
			return nil, err
		}
		for _, e := range ids {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

type attestationRow struct {
	ID, Title, Issuer, Dates, Hours, Issued, IssuedText string
	Code, VerifyURL, PDF, State, Credential             string
}

// attestationsPage lists the learner's own training attestations: each
// with its PDF, its verification code and link, and the state of its
// credential.
func (s *Server) attestationsPage(pr *pageReq) {
	ctx := pr.r.Context()
	emails, err := s.learnerEmails(pr)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	list, err := s.att.LearnerAttestations(ctx, emails)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	var rows []attestationRow
	for _, a := range list {
		tr := a.Fields.Training
		row := attestationRow{ID: a.ID, Title: tr.Title, Issuer: a.Fields.IssuerName, Issued: a.CreatedAt.UTC().Format(time.RFC3339),
			IssuedText: formatDate(pr.lang, a.CreatedAt), Code: attest.FormatCode(a.Code), VerifyURL: "/v/" + a.Code,
			PDF: "/backpack/attestations/" + a.ID + "/pdf", Credential: "/credentials/" + a.CredentialID, State: issuing.StateActive}
		row.Dates = dateRange(pr, tr.Start, tr.End)
		row.Hours = pr.t("attestations.hours", attest.Hours(tr.HoursInPerson), attest.Hours(tr.HoursRemote))
		if c, err := s.iss.Credential(ctx, a.CredentialID); err == nil {
			row.State = c.State
			d := parseSigned(c.Signed)
			if until, err := time.Parse(time.RFC3339, d.ValidUntil); err == nil && c.State == issuing.StateActive && until.Before(time.Now()) {
				row.State = "expired"
			}
		}
		rows = append(rows, row)
	}
	s.render(pr, http.StatusOK, "attestations", s.layout(pr, pr.t("attestations.title"), map[string]any{"Items": rows}))
}

// dateRange writes a training's dates (YYYY-MM-DD) for people of the
// page's language.
func dateRange(pr *pageReq, start, end string) string {
	st, err1 := time.Parse(time.DateOnly, start)
	en, err2 := time.Parse(time.DateOnly, end)
	switch {
	case err1 != nil || err2 != nil:
		return start + " – " + end
	case st.Equal(en):
		return formatDate(pr.lang, st)
	}
	return pr.t("attestations.dates", formatDate(pr.lang, st), formatDate(pr.lang, en))
}

// attestationDownload sends one of the learner's attestations as it was
// delivered. Someone else's answers 404, as an unknown one does: the page
// does not tell whether it exists.
func (s *Server) attestationDownload(pr *pageReq) {
	ctx := pr.r.Context()
	a, err := s.att.Attestation(ctx, mux.Vars(pr.r)["id"])
	if errors.Is(err, attest.ErrNotFound) {
		s.errorPage(pr, http.StatusNotFound, "")
		return
	}
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	emails, err := s.learnerEmails(pr)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	if !slices.Contains(emails, a.LearnerEmail) {
		s.errorPage(pr, http.StatusNotFound, "")
		return
	}
	pdf, err := s.att.PDF(ctx, a)
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	pr.w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="attestation-%s.pdf"`, a.Code))
	writePrivate(pr.w, "application/pdf", http.StatusOK, pdf)
}

type exportRow struct {
	ID, Name, Issuer, IssuedText, Kind string
	Formats                            []exportFormat
	// CLR: the credential may go into a CLR (an OB 3.0 credential with
	// an embedded proof that verifies).
	CLR bool
}

type exportFormat struct{ Format, Label, Href string }

// exportFormats are the formats one holding exports to, as
// backpack.Export allows them: an issued credential in all four; an
// imported one as it arrived.
func (s *Server) exportFormats(pr *pageReq, it backpack.Item) []exportFormat {
	var formats []string
	switch {
	case it.Kind == backpack.KindIssued:
		formats = []string{backpack.ExportJSON, backpack.ExportJWT, backpack.ExportPNG, backpack.ExportSVG}
	case it.Format == backpack.FormatOB2:
		formats = []string{backpack.ExportJSON}
	default:
		formats = []string{backpack.ExportJSON, backpack.ExportPNG, backpack.ExportSVG}
		if full, err := s.backpack.Get(pr.r.Context(), pr.p.UserID, it.ID); err == nil && vcjwt.LooksLikeJWS(bytes.TrimSpace(full.Payload)) {
			formats[0] = backpack.ExportJWT
		}
	}
	out := make([]exportFormat, len(formats))
	for i, f := range formats {
		out[i] = exportFormat{Format: f, Label: pr.t("exports.format." + f), Href: "/api/v1/backpack/credentials/" + it.ID + "/export?format=" + f}
	}
	return out
}

func (s *Server) exportsPage(pr *pageReq) {
	s.renderExports(pr, http.StatusOK, "", "")
}

func (s *Server) renderExports(pr *pageReq, status int, msg, field string) {
	items, _, err := s.backpack.List(pr.r.Context(), pr.p.UserID, backpack.Query{Limit: backpack.MaxPage})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	var rows []exportRow
	for _, it := range items {
		rows = append(rows, exportRow{ID: it.ID, Name: it.Name, Issuer: it.IssuerName, IssuedText: formatDate(pr.lang, it.CreatedAt), Kind: it.Kind,
			Formats: s.exportFormats(pr, it), CLR: it.Format != backpack.FormatOB2 && it.Verdict != string(badges.Invalid)})
	}
	page := s.layout(pr, pr.t("exports.title"), map[string]any{"Items": rows})
	page.Error, page.ErrorField = msg, field
	s.render(pr, status, "exports", page)
}

// eraseSubmit erases the learner's personal data once they ticked the
// box that says they understand; then they are signed out.
func (s *Server) eraseSubmit(pr *pageReq) {
	if pr.r.PostFormValue("confirm") != "yes" {
		s.renderExports(pr, http.StatusBadRequest, pr.t("exports.erase.unconfirmed"), "erase-confirm")
		return
	}
	if err := s.backpack.Erase(pr.r.Context(), pr.p.UserID); err != nil {
		s.pageFail(pr, err)
		return
	}
	http.SetCookie(pr.w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	// The session is gone: the answer is a page for nobody in particular.
	pr.p, pr.csrf = nil, ""
	pr.w.Header().Set("Cache-Control", "no-store")
	s.render(pr, http.StatusOK, "message", s.layout(pr, pr.t("exports.erased.title"), map[string]any{"Text": pr.t("exports.erased.text"), "OK": true}))
}
