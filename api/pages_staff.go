package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/web"
)

// staffPages are an issuer's pages for attestation batches and
// competency frameworks: its trainers (HR staff) and administrators.
func (s *Server) staffPages(r *mux.Router, m string) {
	get, post := http.MethodGet, http.MethodPost
	if s.att != nil {
		r.HandleFunc(m+"/attestations", s.issuerPage(auth.RoleTrainer, s.batchesPage)).Methods(get)
		r.HandleFunc(m+"/attestations", s.issuerPage(auth.RoleTrainer, s.batchSubmit)).Methods(post)
		r.HandleFunc(m+"/attestations/{id}", s.issuerPage(auth.RoleTrainer, s.batchPage)).Methods(get)
	}
	if s.comp != nil {
		r.HandleFunc(m+"/frameworks", s.issuerPage(auth.RoleTrainer, s.frameworksPage)).Methods(get)
		r.HandleFunc(m+"/frameworks", s.issuerPage(auth.RoleAdmin, s.frameworkImportSubmit)).Methods(post)
		r.HandleFunc(m+"/frameworks/{id}", s.issuerPage(auth.RoleTrainer, s.frameworkPage)).Methods(get)
	}
}

type batchRow struct {
	ID, Title, Dates, Created, CreatedText, State, Output string
	Total, Done, Failed                                   int
}

func (s *Server) batchesPage(ir *issuerReq) {
	s.renderBatches(ir, http.StatusOK, map[string]string{"output": attest.OutputPDF}, "", "")
}

func (s *Server) renderBatches(ir *issuerReq, status int, form map[string]string, msg, field string) {
	list, err := s.att.Batches(ir.r.Context(), ir.issuer.Slug)
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []batchRow
	for _, b := range list {
		row := batchRow{ID: b.ID, Created: b.CreatedAt.UTC().Format(time.RFC3339), CreatedText: formatDate(ir.lang, b.CreatedAt),
			State: b.State, Total: b.Total, Done: b.Done, Failed: b.Failed, Output: attest.OutputZIP}
		if sess, err := b.SessionOf(); err == nil {
			row.Title, row.Dates = sess.Title, dateRange(ir.pageReq, sess.Start, sess.End)
			if sess.Output == attest.OutputPDF {
				row.Output = attest.OutputPDF
			}
		}
		rows = append(rows, row)
	}
	page := s.issuerLayout(ir, ir.t("batches.title"), map[string]any{"Items": rows, "Form": form, "Max": attest.MaxParticipants})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "batches", page)
}

// batchFields are the session form's fields, by the name attest gives
// them in its errors; each is also the id of the form's input.
var batchFields = []string{"title", "parcours", "gaiaDispositif", "gaiaModule", "gaiaSession", "reference", "start", "end",
	"hoursInPerson", "hoursRemote", "organiser", "trainers", "competencies", "signatory.name", "signatory.role", "signatory.image",
	"place", "output", "comment", "participants"}

var indexRE = regexp.MustCompile(`^([a-zA-Z]+)\[(\d+)\](?:\.(.+))?$`)

// batchFormError turns attest's refusal into a sentence for the session
// form and the id of the input to link to. A participant's problem names
// the line of the CSV file.
func batchFormError(ir *issuerReq, err error, lines []int) (msg, field string, ok bool) {
	var in *attest.InputError
	if !errors.As(err, &in) {
		return "", "", false
	}
	field, reason := in.Field, in.Reason
	if m := indexRE.FindStringSubmatch(field); m != nil {
		field = m[1]
		if m[1] == "participants" {
			if i, err := strconv.Atoi(m[2]); err == nil && i < len(lines) {
				what := m[3]
				if what == "" {
					what = "participant"
				}
				reason = fmt.Sprintf("%s %d, %s: %s", ir.t("batches.csv.line"), lines[i], what, reason)
			}
		}
	}
	id := strings.ReplaceAll(field, ".", "-")
	found := false
	for _, f := range batchFields {
		found = found || f == field
	}
	if !found {
		return ir.t("form.invalid.any", in.Error()), "", true
	}
	if field == "output" {
		id = "output-zip"
	}
	return ir.t("form.invalid", ir.t("batches.field."+id), reason), id, true
}

// splitList reads a list typed in one field: comma-, semicolon- or
// line-separated.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseHours reads hours typed the French way (6,5) or the English way
// (6.5); empty is 0.
func parseHours(v string) (float64, bool) {
	v = strings.TrimSpace(strings.ReplaceAll(v, ",", "."))
	if v == "" {
		return 0, true
	}
	h, err := strconv.ParseFloat(v, 64)
	return h, err == nil
}

// batchSubmit queues the attestations of a session from its form and its
// participants' CSV file, then shows the batch's progress.
func (s *Server) batchSubmit(ir *issuerReq) {
	r := ir.r
	form := formValues(r)
	fail := func(status int, msg, field string) { s.renderBatches(ir, status, form, msg, field) }
	sess := attest.Session{Training: attest.Training{Issuer: ir.issuer.Slug, Title: strings.TrimSpace(form["title"]),
		Parcours: strings.TrimSpace(form["parcours"]), GaiaDispositif: strings.TrimSpace(form["gaiaDispositif"]),
		GaiaModule: strings.TrimSpace(form["gaiaModule"]), GaiaSession: strings.TrimSpace(form["gaiaSession"]),
		Start: strings.TrimSpace(form["start"]), End: strings.TrimSpace(form["end"]), Organiser: strings.TrimSpace(form["organiser"]),
		Trainers: splitList(form["trainers"]), Competencies: splitList(form["competencies"]), Place: strings.TrimSpace(form["place"]),
		Signatory: attest.Signatory{Name: strings.TrimSpace(form["signatory.name"]), Role: strings.TrimSpace(form["signatory.role"])}},
		Reference: strings.TrimSpace(form["reference"]), Comment: strings.TrimSpace(form["comment"]), Output: form["output"]}
	for _, h := range []struct {
		name string
		into *float64
	}{{"hoursInPerson", &sess.HoursInPerson}, {"hoursRemote", &sess.HoursRemote}} {
		v, ok := parseHours(form[h.name])
		if !ok {
			fail(http.StatusBadRequest, ir.t("form.invalid", ir.t("batches.field."+h.name), ir.t("batches.hours.invalid")), h.name)
			return
		}
		*h.into = v
	}
	if f, fh, err := r.FormFile("signatory.image"); err == nil {
		defer f.Close()
		if fh.Size > 0 {
			img, err := io.ReadAll(io.LimitReader(f, 1<<20))
			if err != nil {
				fail(http.StatusBadRequest, ir.t("form.unreadable"), "signatory-image")
				return
			}
			sess.Signatory.Image = img
		}
	}
	f, _, err := r.FormFile("participants")
	if err != nil {
		fail(http.StatusBadRequest, ir.t("err.participants.required"), "participants")
		return
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, maxParticipantsCSV+1))
	if err != nil {
		fail(http.StatusBadRequest, ir.t("form.unreadable"), "participants")
		return
	}
	parts, lines, err := parseParticipantsCSV(body)
	if err == nil {
		sess.Participants = parts
		var b *attest.Batch
		if b, err = s.att.StartBatch(r.Context(), actor(ir.p), sess); err == nil {
			redirectDone(ir, "/attestations/"+b.ID, "")
			return
		}
	}
	if msg, field, ok := batchFormError(ir, err, lines); ok {
		fail(http.StatusBadRequest, msg, field)
		return
	}
	s.pageFail(ir.pageReq, err)
}

// batchPage shows a batch's progress, as the bulk award's page does (the
// same script moves the bar), and its downloads once it is done.
func (s *Server) batchPage(ir *issuerReq) {
	b, err := s.att.Batch(ir.r.Context(), mux.Vars(ir.r)["id"])
	if err == nil && b.Issuer != ir.issuer.Slug {
		err = attest.ErrNotFound
	}
	if errors.Is(err, attest.ErrNotFound) {
		s.errorPage(ir.pageReq, http.StatusNotFound, "")
		return
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	processed := b.Done + b.Failed
	pct := 100
	if b.Total > 0 {
		pct = 100 * processed / b.Total
	}
	api := "/api/v1/attestations/batches/" + b.ID
	data := map[string]any{"ID": b.ID, "API": api, "Total": b.Total, "Done": b.Done, "Failed": b.Failed, "Processed": processed,
		"Percent": pct, "State": b.State, "Finished": b.State == attest.BatchDone || b.State == attest.BatchFailed, "Errors": b.Errors,
		"Ready": b.State == attest.BatchDone, "ZIP": api + "/attestations.zip", "Report": api + "/report.pdf"}
	if sess, err := b.SessionOf(); err == nil {
		data["Title"], data["Dates"] = sess.Title, dateRange(ir.pageReq, sess.Start, sess.End)
		if sess.Output == attest.OutputPDF {
			data["PDF"] = api + "/attestations.pdf"
		}
		present := 0
		for _, p := range sess.Participants {
			if p.Present {
				present++
			}
		}
		data["Participants"], data["Present"] = len(sess.Participants), present
	}
	if b.MergedSize > 0 {
		size := fmt.Sprintf("%.1f", float64(b.MergedSize)/(1<<20))
		if ir.lang == "fr" {
			size = strings.Replace(size, ".", ",", 1)
		}
		data["PDFSize"] = size
	}
	s.render(ir.pageReq, http.StatusOK, "batch", s.issuerLayout(ir, ir.t("batch.title"), data))
}

type frameworkRow struct {
	ID, Title, Source, Owner, Imported, ImportedText, CASE, CSV, Link string
	Version, Items                                                    int
}

func (s *Server) frameworkRow(ir *issuerReq, rec competency.Record) frameworkRow {
	export := "/api/v1/frameworks/" + url.PathEscape(rec.ID) + "/export?version=" + strconv.Itoa(rec.Version) + "&format="
	row := frameworkRow{ID: rec.ID, Title: rec.Title, Source: rec.Source, Owner: rec.Owner, Imported: rec.CreatedAt.UTC().Format(time.RFC3339),
		ImportedText: formatDate(ir.lang, rec.CreatedAt), CASE: export + competency.FormatCASE, CSV: export + competency.FormatMoodleCSV,
		Link: "/manage/" + ir.issuer.Slug + "/frameworks/" + url.PathEscape(rec.ID), Version: rec.Version, Items: rec.Items}
	if web.HasMessage(ir.lang, "frameworks.source."+rec.Source) {
		row.Source = ir.t("frameworks.source." + rec.Source)
	}
	return row
}

// frameworksPage lists the frameworks (shared by every issuer) with
// their export links; the issuer's administrators import one there.
func (s *Server) frameworksPage(ir *issuerReq) {
	s.renderFrameworks(ir, http.StatusOK, "", "")
}

func (s *Server) renderFrameworks(ir *issuerReq, status int, msg, field string) {
	list, err := s.comp.Frameworks(ir.r.Context())
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []frameworkRow
	for _, rec := range list {
		rows = append(rows, s.frameworkRow(ir, rec))
	}
	page := s.issuerLayout(ir, ir.t("frameworks.title"), map[string]any{"Items": rows, "Admin": ir.admin(),
		"MaxMiB": competency.MaxImportBytes >> 20, "Imported": ir.r.URL.Query().Get("imported")})
	page.Error, page.ErrorField = msg, field
	s.render(ir.pageReq, status, "frameworks", page)
}

// frameworkImportSubmit imports a framework file (CASE JSON or Moodle
// CSV) for the issuer: a new framework, or a new version of one the
// issuer owns. Root imports as the operator, as the API does.
func (s *Server) frameworkImportSubmit(ir *issuerReq) {
	f, _, err := ir.r.FormFile("file")
	if err != nil {
		s.renderFrameworks(ir, http.StatusBadRequest, ir.t("err.framework.required"), "framework-file")
		return
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, competency.MaxImportBytes+1))
	if err != nil {
		s.renderFrameworks(ir, http.StatusBadRequest, ir.t("form.unreadable"), "framework-file")
		return
	}
	format := ir.r.PostFormValue("format")
	if format != competency.FormatCASE && format != competency.FormatMoodleCSV {
		format = competency.SniffFormat(body)
	}
	var rec competency.Record
	var created bool
	if ir.p.Root {
		rec, created, err = s.comp.Import(ir.r.Context(), actor(ir.p), format, body)
	} else {
		rec, created, err = s.comp.ImportShared(ir.r.Context(), actor(ir.p), ir.issuer.Slug, format, body)
	}
	var in *competency.InputError
	switch {
	case errors.As(err, &in):
		s.renderFrameworks(ir, http.StatusBadRequest, ir.t("frameworks.invalid", ir.t("frameworks.format."+format), in.Error()), "framework-file")
		return
	case errors.Is(err, competency.ErrOfficial):
		s.renderFrameworks(ir, http.StatusForbidden, ir.t("frameworks.official"), "framework-file")
		return
	case errors.Is(err, competency.ErrNotOwner):
		s.renderFrameworks(ir, http.StatusForbidden, ir.t("frameworks.notowner", strings.TrimPrefix(err.Error(), "competency: ")), "framework-file")
		return
	case err != nil:
		s.pageFail(ir.pageReq, err)
		return
	}
	done := "framework.same"
	if created {
		done = "framework.imported"
	}
	redirectDone(ir, "/frameworks", done, "imported", rec.ID)
}

// frameworkPage lists a framework's versions, each with its exports.
func (s *Server) frameworkPage(ir *issuerReq) {
	list, err := s.comp.Versions(ir.r.Context(), mux.Vars(ir.r)["id"])
	if err == nil && len(list) == 0 {
		err = competency.ErrNotFound
	}
	if err != nil {
		s.pageFail(ir.pageReq, err)
		return
	}
	var rows []frameworkRow
	for _, rec := range list {
		rows = append(rows, s.frameworkRow(ir, rec))
	}
	latest := rows[len(rows)-1]
	for _, r := range rows {
		if r.Version > latest.Version {
			latest = r
		}
	}
	s.render(ir.pageReq, http.StatusOK, "framework", s.issuerLayout(ir, latest.Title, map[string]any{"Items": rows, "Latest": latest}))
}

// rootStatisticsPage shows the statistics of every issuer together: the
// platform administrator's (root's) page only.
func (s *Server) rootStatisticsPage(pr *pageReq) {
	if !pr.p.Root {
		s.errorPage(pr, http.StatusForbidden, "")
		return
	}
	st, err := s.comp.Statistics(pr.r.Context(), "")
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	var charts []chartView
	add := func(name string, rows []competency.Count) {
		title := pr.t("stats." + name)
		charts = append(charts, chartView{Name: name, Title: title, Src: "/api/v1/statistics/" + name + ".svg", Alt: pr.t("stats.alt", title), Rows: rows})
	}
	add("issuers", st.ByIssuer)
	add("items", st.ByItem)
	add("academies", st.ByAcademie)
	add("departements", st.ByDepartement)
	add("disciplines", st.ByDiscipline)
	add("months", st.ByMonth)
	s.render(pr, http.StatusOK, "statistics", s.layout(pr, pr.t("stats.all.title"), map[string]any{"Charts": charts,
		"Lead": pr.t("stats.all.lead", st.Total), "All": true}))
}
