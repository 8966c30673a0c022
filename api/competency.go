package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/chart"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
)

// competencyRoutes registers frameworks, trainer awards against
// competencies with their second-assessor queue, learners' competency
// profiles and statistics.
func (s *Server) competencyRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/frameworks", s.authed(s.importFramework)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/frameworks", s.authed(s.listFrameworks)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/frameworks/{id}/versions", s.authed(s.frameworkVersions)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/frameworks/{id}/export", s.authed(s.exportFramework)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/competency-awards", s.authed(s.idempotent(s.competencyAward))).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/issuers/{slug}/pending-awards", s.authed(s.listPendingAwards)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/pending-awards/{id}", s.authed(s.getPendingAward)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/pending-awards/{id}/{action:approve|reject}", s.authed(s.decidePendingAward)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/learners/{email}/competencies", s.authed(s.learnerCompetencies)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/learners/{email}", s.authed(s.putLearner)).Methods(http.MethodPut)
	r.HandleFunc("/api/v1/statistics", s.authed(s.statistics)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/statistics/{chart:items|issuers|academies|departements|disciplines|months}.svg", s.authed(s.statisticsChart)).Methods(http.MethodGet)
}

// failCompetency answers the competency package's errors, and passes
// anything else to fail.
func (s *Server) failCompetency(w http.ResponseWriter, r *http.Request, err error) {
	var in *competency.InputError
	switch {
	case errors.As(err, &in) && errors.Is(err, competency.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", in.Error(), in.Where)
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, "invalid", in.Error(), in.Where)
	case errors.Is(err, competency.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, competency.ErrOfficial), errors.Is(err, competency.ErrNotOwner):
		writeError(w, http.StatusForbidden, "forbidden", strings.TrimPrefix(err.Error(), "competency: "), "")
	case errors.Is(err, issuing.ErrSameAssessor):
		writeError(w, http.StatusForbidden, "same_assessor", "the second assessor must be someone else than the trainer who proposed the award", "")
	case errors.Is(err, issuing.ErrAlreadyDecided):
		writeError(w, http.StatusConflict, "already_decided", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

// isAdminSomewhere tells whether p administers at least one issuer.
func isAdminSomewhere(p *auth.Principal) bool {
	if p.Root {
		return true
	}
	if !p.HasScope(auth.ScopeAdmin) {
		return false
	}
	for _, r := range p.Roles {
		if r.Satisfies(auth.RoleAdmin) {
			return true
		}
	}
	return false
}

type frameworkJSON struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Title    string `json:"title"`
	Source   string `json:"source"`
	Items    int    `json:"items"`
	Imported string `json:"imported"`
	CASE     string `json:"case"`
	Created  *bool  `json:"created,omitempty"`
}

func (s *Server) frameworkOut(r competency.Record) frameworkJSON {
	return frameworkJSON{ID: r.ID, Version: r.Version, Title: r.Title, Source: r.Source, Items: r.Items,
		Imported: r.CreatedAt.Format("2006-01-02T15:04:05Z"), CASE: s.comp.BaseURL() + "/ims/case/v1p0/CFPackages/" + r.ID}
}

// importFramework answers POST /api/v1/frameworks: a CASE CFPackage
// (application/json) or a Moodle competency CSV (text/csv). The same
// content again answers 200 with the version that holds it; changed
// content makes a new version (201).
func (s *Server) importFramework(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !isAdminSomewhere(p) {
		writeError(w, http.StatusForbidden, "forbidden", "only administrators import frameworks", "")
		return
	}
	body, ok := readBody(w, r, competency.MaxImportBytes)
	if !ok {
		return
	}
	ct := strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0])
	var format string
	switch {
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		format = competency.FormatCASE
	// Browsers on Windows label .csv files application/vnd.ms-excel.
	case ct == "text/csv" || ct == "application/csv" || ct == "application/vnd.ms-excel":
		format = competency.FormatMoodleCSV
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send a CASE CFPackage (application/json) or a Moodle competency CSV (text/csv)", "")
		return
	}
	// Frameworks are shared: only root may change an official one, which
	// every issuer's awards point to, and a framework an issuer imported
	// first is changed by that issuer's administrators only.
	var (
		rec     competency.Record
		created bool
		err     error
	)
	if p.Root {
		rec, created, err = s.comp.Import(r.Context(), actor(p), format, body)
	} else {
		owner, ok := frameworkOwner(w, r, p)
		if !ok {
			return
		}
		rec, created, err = s.comp.ImportShared(r.Context(), actor(p), owner, format, body)
	}
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	out := s.frameworkOut(rec)
	out.Created = &created
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", out.CASE)
	writeJSON(w, status, out)
}

// frameworkOwner picks the issuer an administrator imports a framework
// for: ?issuer=, or the only issuer they administer.
func frameworkOwner(w http.ResponseWriter, r *http.Request, p *auth.Principal) (string, bool) {
	if slug := r.URL.Query().Get("issuer"); slug != "" {
		if !p.Can(slug, auth.RoleAdmin) {
			writeError(w, http.StatusForbidden, "forbidden", "you do not administer issuer "+slug, "issuer")
			return "", false
		}
		return slug, true
	}
	var admin []string
	for slug, role := range p.Roles {
		if role.Satisfies(auth.RoleAdmin) {
			admin = append(admin, slug)
		}
	}
	if len(admin) != 1 {
		writeError(w, http.StatusBadRequest, "invalid", "you administer several issuers: say which one imports the framework with ?issuer=", "issuer")
		return "", false
	}
	return admin[0], true
}

func (s *Server) listFrameworks(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	list, err := s.comp.Frameworks(r.Context())
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	out := []frameworkJSON{}
	for _, rec := range list {
		out = append(out, s.frameworkOut(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{"frameworks": out})
}

func (s *Server) frameworkVersions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	list, err := s.comp.Versions(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	out := []frameworkJSON{}
	for _, rec := range list {
		out = append(out, s.frameworkOut(rec))
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

// exportFramework answers GET /api/v1/frameworks/{id}/export?format=case|moodle-csv[&version=N].
func (s *Server) exportFramework(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = competency.FormatCASE
	}
	if format != competency.FormatCASE && format != competency.FormatMoodleCSV {
		writeError(w, http.StatusBadRequest, "invalid", "format must be case or moodle-csv", "format")
		return
	}
	version := 0
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid", "version must be a whole number from 1", "version")
			return
		}
		version = n
	}
	b, err := s.comp.Export(r.Context(), mux.Vars(r)["id"], version, format)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	ct := "application/json"
	if format == competency.FormatMoodleCSV {
		ct = "text/csv; charset=utf-8"
		w.Header().Set("Content-Disposition", `attachment; filename="framework.csv"`)
	}
	writeDoc(w, ct, http.StatusOK, b)
}

// achievementInput is an achievement as the API takes it: the OB 3.0
// fields, and "competencies", framework items by code ("CC14") or
// identifier, which become alignments.
type achievementInput struct {
	issuing.AchievementSpec
	Competencies []string `json:"competencies,omitempty"`
}

// achievementSpec resolves the competencies of an achievement input into
// its alignments; it answers the error itself.
func (s *Server) achievementSpec(w http.ResponseWriter, r *http.Request, in achievementInput) (issuing.AchievementSpec, bool) {
	if len(in.Competencies) == 0 {
		return in.AchievementSpec, true
	}
	if s.comp == nil {
		writeError(w, http.StatusBadRequest, "invalid", "this server holds no frameworks", "competencies")
		return in.AchievementSpec, false
	}
	als, err := s.comp.Resolve(r.Context(), "competencies", in.Competencies)
	if err != nil {
		s.failCompetency(w, r, err)
		return in.AchievementSpec, false
	}
	in.Alignment = competency.MergeAlignments(in.Alignment, als)
	return in.AchievementSpec, true
}

// competencyAwardRequest is a trainer's award against competencies.
type competencyAwardRequest struct {
	Achievement string                   `json:"achievement"`
	Recipients  []issuing.RecipientInput `json:"recipients"`
	// Competencies are the assessed items, by code or identifier.
	Competencies []string `json:"competencies"`
	// Level is the id, name or label of a level of the achievement's
	// scale; ResultDescription picks the scale when it has several.
	Level             string                  `json:"level"`
	ResultDescription string                  `json:"resultDescription,omitempty"`
	Narrative         string                  `json:"narrative,omitempty"`
	Evidence          []issuing.EvidenceInput `json:"evidence,omitempty"`
	// SecondAssessor queues the award until another trainer or admin of
	// the issuer approves it; an achievement may require it
	// (requireSecondAssessor).
	SecondAssessor bool `json:"secondAssessor,omitempty"`
}

// assessor is who stands behind a principal: a token counts as the user
// who made it, so that nobody approves their own award with a token.
func assessor(p *auth.Principal) string {
	if p.UserID != "" {
		return "user:" + p.UserID
	}
	return actor(p)
}

// competencyAward answers POST /api/v1/competency-awards: 201 with the
// credentials, or 202 with the pending award when a second assessor must
// approve it first.
func (s *Server) competencyAward(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in competencyAwardRequest
	if !decode(w, r, &in) {
		return
	}
	id, err := s.iss.AchievementIDFrom(in.Achievement)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.iss.Achievement(r.Context(), id)
	if errors.Is(err, issuing.ErrNotFound) {
		writeError(w, http.StatusBadRequest, "invalid", "no achievement "+id, "achievement")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Who may award is known from the achievement: refuse before saying
	// anything about its scale or the items.
	if !allow(w, p, a.Issuer, auth.RoleTrainer, auth.ScopeAward) {
		return
	}
	if len(in.Competencies) == 0 {
		writeError(w, http.StatusBadRequest, "invalid", "name the assessed framework items (codes such as CC14, or identifiers)", "competencies")
		return
	}
	als, err := s.comp.Resolve(r.Context(), "competencies", in.Competencies)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	spec, err := a.Spec()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	result, err := competency.LevelResult(spec.ResultDescription, in.ResultDescription, in.Level, als)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	// An uploaded evidence file must exist: a typo in its address would
	// be signed into the credential for good.
	for i, e := range in.Evidence {
		sha, ok := strings.CutPrefix(e.URL, s.iss.EvidenceURL(""))
		if !ok {
			continue
		}
		_, rc, err := s.iss.Evidence(r.Context(), sha)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "no uploaded evidence file at "+e.URL, fmt.Sprintf("evidence[%d].url", i))
			return
		}
		rc.Close()
	}
	prep, err := s.iss.Prepare(r.Context(), issuing.AwardRequest{Achievement: a.ID, Recipients: in.Recipients, Narrative: in.Narrative,
		Evidence: in.Evidence, Results: []badges.Result{result}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.SecondAssessor || prep.NeedsApproval {
		pa, err := s.iss.Propose(r.Context(), actor(p), assessor(p), prep)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Location", s.pendingURL(pa.ID))
		writeJSON(w, http.StatusAccepted, s.pendingOut(pa))
		return
	}
	if s.iss.IsBulk(prep) {
		writeError(w, http.StatusBadRequest, "invalid", "too many recipients: an award against competencies is issued within the request (100 by default); use /api/v1/awards for a cohort", "recipients")
		return
	}
	creds, err := s.iss.Award(r.Context(), actor(p), prep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.awarded.Add(float64(len(creds)))
	writeJSON(w, http.StatusCreated, map[string]any{"credentials": s.credentialRefs(creds)})
}

func (s *Server) credentialRefs(creds []issuing.Credential) []map[string]string {
	out := make([]map[string]string, len(creds))
	for i, c := range creds {
		out[i] = map[string]string{"id": "urn:uuid:" + c.ID, "url": s.iss.CredentialURL(c.ID)}
	}
	return out
}

func (s *Server) pendingURL(id string) string {
	return s.iss.BaseURL() + "/api/v1/pending-awards/" + id
}

type pendingJSON struct {
	ID           string                   `json:"id"`
	URL          string                   `json:"url"`
	Issuer       string                   `json:"issuer"`
	Achievement  string                   `json:"achievement"`
	State        string                   `json:"state"`
	Recipients   []issuing.RecipientInput `json:"recipients"`
	Competencies []string                 `json:"competencies"`
	Level        string                   `json:"level,omitempty"`
	Narrative    string                   `json:"narrative,omitempty"`
	Evidence     []issuing.EvidenceInput  `json:"evidence,omitempty"`
	ProposedBy   string                   `json:"proposedBy"`
	Proposed     string                   `json:"proposed"`
	DecidedBy    string                   `json:"decidedBy,omitempty"`
	Decided      string                   `json:"decided,omitempty"`
	Reason       string                   `json:"reason,omitempty"`
	Credentials  []map[string]string      `json:"credentials"`
}

func (s *Server) pendingOut(pa *issuing.PendingAward) pendingJSON {
	out := pendingJSON{ID: pa.ID, URL: s.pendingURL(pa.ID), Issuer: pa.Issuer, Achievement: s.iss.AchievementURL(pa.AchievementID),
		State: pa.State, Recipients: pa.Request.Recipients, Competencies: []string{}, Narrative: pa.Request.Narrative, Evidence: pa.Request.Evidence,
		ProposedBy: pa.ProposedBy, Proposed: pa.CreatedAt.Format("2006-01-02T15:04:05Z"), DecidedBy: pa.DecidedBy, Reason: pa.Reason,
		Credentials: []map[string]string{}}
	for _, res := range pa.Request.Results {
		out.Level = res.AchievedLevel
		for _, a := range res.Alignment {
			out.Competencies = append(out.Competencies, a.TargetCode)
		}
	}
	if !pa.DecidedAt.IsZero() {
		out.Decided = pa.DecidedAt.Format("2006-01-02T15:04:05Z")
	}
	for _, id := range pa.Credentials {
		out.Credentials = append(out.Credentials, map[string]string{"id": "urn:uuid:" + id, "url": s.iss.CredentialURL(id)})
	}
	return out
}

func (s *Server) listPendingAwards(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleTrainer, auth.ScopeAward) {
		return
	}
	state := r.URL.Query().Get("state")
	switch state {
	case "":
		state = issuing.PendingWaiting
	case "all":
		state = ""
	case issuing.PendingWaiting, issuing.PendingApproved, issuing.PendingRejected:
	default:
		writeError(w, http.StatusBadRequest, "invalid", "state must be pending, approved, rejected or all", "state")
		return
	}
	list, err := s.iss.PendingAwards(r.Context(), slug, state)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []pendingJSON{}
	for i := range list {
		out = append(out, s.pendingOut(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pendingAwards": out})
}

func (s *Server) pendingFor(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*issuing.PendingAward, bool) {
	pa, err := s.iss.PendingAward(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if !allow(w, p, pa.Issuer, auth.RoleTrainer, auth.ScopeAward) {
		return nil, false
	}
	return pa, true
}

func (s *Server) getPendingAward(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pa, ok := s.pendingFor(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.pendingOut(pa))
}

// decidePendingAward approves (the credentials are issued: 201) or rejects
// (nothing is issued: 200) an award waiting for a second assessor.
func (s *Server) decidePendingAward(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pa, ok := s.pendingFor(w, r, p)
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	if mux.Vars(r)["action"] == "approve" {
		pa, creds, err := s.iss.ApproveAward(r.Context(), actor(p), assessor(p), pa.ID)
		if err != nil {
			s.failCompetency(w, r, err)
			return
		}
		s.metrics.awarded.Add(float64(len(creds)))
		writeJSON(w, http.StatusCreated, s.pendingOut(pa))
		return
	}
	pa, err := s.iss.RejectAward(r.Context(), actor(p), assessor(p), pa.ID, in.Reason)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.pendingOut(pa))
}

// readableIssuers says which issuers' credentials p may see in a
// learner's profile: all of them for the learner themself and for root;
// for anyone else, the issuers where they are trainer or admin (with the
// credentials:read scope for a token). ok is false when p may see nothing.
func readableIssuers(p *auth.Principal, email string) (include func(string) bool, ok bool) {
	if p.Root || (p.Kind == auth.KindUser && p.Email != "" && badges.NormalizeEmail(p.Email) == badges.NormalizeEmail(email)) {
		return nil, true
	}
	if !p.HasScope(auth.ScopeRead) || !canAwardSomewhere(p) {
		return nil, false
	}
	return func(issuer string) bool { return p.Can(issuer, auth.RoleTrainer) }, true
}

// learnerCompetencies answers GET /api/v1/learners/{email}/competencies.
// The learner and root see the whole profile; a trainer or admin sees
// the part their issuers awarded, and 404 when their issuers awarded
// that learner nothing (so that the answer does not tell whether other
// issuers did).
func (s *Server) learnerCompetencies(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	email := mux.Vars(r)["email"]
	include, ok := readableIssuers(p, email)
	if !ok {
		writeError(w, http.StatusForbidden, "forbidden", "a competency profile is read by the learner, or by the trainers of the issuers that awarded them", "")
		return
	}
	if include != nil {
		awarded, err := s.awardedBy(r.Context(), email, include)
		if err != nil {
			s.failCompetency(w, r, err)
			return
		}
		if !awarded {
			writeError(w, http.StatusNotFound, "not_found", "none of your issuers awarded "+email+" a credential", "")
			return
		}
	}
	prof, err := s.comp.Profile(r.Context(), email, include)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prof)
}

// awardedBy tells whether an issuer include accepts has issued a
// credential to email.
func (s *Server) awardedBy(ctx context.Context, email string, include func(string) bool) (bool, error) {
	issuers, err := s.comp.LearnerIssuers(ctx, email)
	if err != nil {
		return false, err
	}
	for _, i := range issuers {
		if include(i) {
			return true, nil
		}
	}
	return false, nil
}

// putLearner answers PUT /api/v1/learners/{email}: the learner's
// académie, département and discipline, for statistics. Root, or an admin
// of an issuer that awarded the learner.
func (s *Server) putLearner(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	email := mux.Vars(r)["email"]
	var in competency.Learner
	if !decode(w, r, &in) {
		return
	}
	if !p.Root {
		admin := func(issuer string) bool { return p.Can(issuer, auth.RoleAdmin) && p.HasScope(auth.ScopeAdmin) }
		ok, err := s.awardedBy(r.Context(), email, admin)
		if err != nil {
			s.failCompetency(w, r, err)
			return
		}
		if !ok {
			writeError(w, http.StatusForbidden, "forbidden", "only root, or an admin of an issuer that awarded this learner, sets their attributes", "")
			return
		}
	}
	if in.Email != "" && badges.NormalizeEmail(in.Email) != badges.NormalizeEmail(email) {
		writeError(w, http.StatusBadRequest, "invalid", "the e-mail address in the body differs from the one in the path", "email")
		return
	}
	in.Email = email
	if err := s.comp.SetLearnerAttributes(r.Context(), in); err != nil {
		s.failCompetency(w, r, err)
		return
	}
	in.Email = badges.NormalizeEmail(email)
	writeJSON(w, http.StatusOK, in)
}

// statisticsIssuer reads ?issuer= and checks who asks: root for every
// issuer (no parameter), an issuer's admins for their issuer.
func statisticsIssuer(w http.ResponseWriter, r *http.Request, p *auth.Principal) (string, bool) {
	issuer := r.URL.Query().Get("issuer")
	if issuer == "" {
		if !p.Root {
			writeError(w, http.StatusBadRequest, "invalid", "say which issuer: issuer=SLUG (only root reads the statistics of every issuer)", "issuer")
			return "", false
		}
		return "", true
	}
	return issuer, allow(w, p, issuer, auth.RoleAdmin, auth.ScopeAdmin)
}

func (s *Server) statistics(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	issuer, ok := statisticsIssuer(w, r, p)
	if !ok {
		return
	}
	st, err := s.comp.Statistics(r.Context(), issuer)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// statisticsChart draws one statistic as an accessible SVG chart.
func (s *Server) statisticsChart(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	issuer, ok := statisticsIssuer(w, r, p)
	if !ok {
		return
	}
	st, err := s.comp.Statistics(r.Context(), issuer)
	if err != nil {
		s.failCompetency(w, r, err)
		return
	}
	scope := "toutes les académies et directions"
	if issuer != "" {
		scope = "émetteur " + issuer
	}
	name := mux.Vars(r)["chart"]
	var counts []competency.Count
	var title string
	switch name {
	case "items":
		counts, title = st.ByItem, "Badges par compétence"
	case "issuers":
		counts, title = st.ByIssuer, "Badges par émetteur"
	case "academies":
		counts, title = st.ByAcademie, "Badges par académie des personnels"
	case "departements":
		counts, title = st.ByDepartement, "Badges par département des personnels"
	case "disciplines":
		counts, title = st.ByDiscipline, "Badges par discipline des personnels"
	default:
		counts, title = st.ByMonth, "Badges délivrés par mois"
	}
	data := make([]chart.Datum, len(counts))
	for i, c := range counts {
		data[i] = chart.Datum{Label: c.Label, Value: c.Count}
	}
	desc := fmt.Sprintf("%s (%s) : %d badges non révoqués au total.", title, scope, st.Total)
	var svg []byte
	if name == "months" {
		svg = chart.Series("insigne-"+name, title, desc, data)
	} else {
		svg = chart.Bars("insigne-"+name, title, desc, data)
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	writeDoc(w, "image/svg+xml", http.StatusOK, svg)
}

// caseFrameworks returns the index of the frameworks served as CASE: the
// stored ones when the server has a competency service (rebuilt when a
// framework gets a new version), else those given in the Config.
func (s *Server) caseFrameworks(ctx context.Context) (*caseIndex, error) {
	if s.comp == nil {
		return s.cases, nil
	}
	sn, err := s.comp.Latest(ctx)
	if err != nil {
		return nil, err
	}
	s.caseMu.Lock()
	defer s.caseMu.Unlock()
	if s.casesKey == sn.Key && s.cases != nil {
		return s.cases, nil
	}
	ix, err := newCASEIndex(sn.Frameworks, s.comp.BaseURL())
	if err != nil {
		return nil, err
	}
	s.cases, s.casesKey = ix, sn.Key
	return ix, nil
}
