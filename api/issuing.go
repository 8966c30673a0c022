package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/issuing"
)

// apiRoutes registers the JSON API on the root router: a /api/v1
// subrouter would answer 404 instead of 405 to a wrong method
// (gorilla/mux#751).
func (s *Server) apiRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/issuers", s.authed(s.createIssuer)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/issuers", s.authed(s.listIssuers)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}", s.authed(s.getIssuer)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/keys", s.authed(s.listKeys)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/keys/rotate", s.authed(s.rotateKeys)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/issuers/{slug}/achievements", s.authed(s.createAchievement)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/issuers/{slug}/achievements", s.authed(s.listAchievements)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/audit", s.authed(s.auditLog)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/tokens", s.authed(s.createToken)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/issuers/{slug}/tokens", s.authed(s.listTokens)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/tokens/{id}", s.authed(s.revokeToken)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/issuers/{slug}/members", s.authed(s.addMember)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/achievements/{id}", s.authed(s.getAchievement)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/achievements/{id}", s.authed(s.updateAchievement)).Methods(http.MethodPut)
	r.HandleFunc("/api/v1/awards", s.authed(s.idempotent(s.award))).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/jobs/{id}", s.authed(s.getJob)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/credentials", s.authed(s.listCredentials)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/credentials/{id}", s.authed(s.getCredential)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/credentials/{id}/{action:revoke|suspend|reinstate}", s.authed(s.changeState)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/evidence", s.authed(s.uploadEvidence)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/me", s.authed(s.me)).Methods(http.MethodGet)
}

type issuerJSON struct {
	ID          string `json:"id"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	URL         string `json:"url,omitempty"`
	Email       string `json:"email,omitempty"`
	Description string `json:"description,omitempty"`
	Image       string `json:"image,omitempty"`
	DID         string `json:"did,omitempty"`
}

func (s *Server) issuerOut(i *issuing.Issuer) issuerJSON {
	did, _ := s.iss.DIDWeb(i.Slug)
	return issuerJSON{ID: s.iss.IssuerID(i.Slug), Slug: i.Slug, Name: i.Name, URL: i.URL, Email: i.Email,
		Description: i.Description, Image: i.ImageURL, DID: did}
}

// createIssuer: only the instance's administrators (root) create issuers.
func (s *Server) createIssuer(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !p.Root {
		writeError(w, http.StatusForbidden, "forbidden", "only an administrator of the instance creates issuers", "")
		return
	}
	var in issuing.IssuerInput
	if !decode(w, r, &in) {
		return
	}
	i, err := s.iss.CreateIssuer(r.Context(), actor(p), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", s.iss.IssuerID(i.Slug))
	writeJSON(w, http.StatusCreated, s.issuerOut(i))
}

func (s *Server) listIssuers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	all, err := s.iss.Issuers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []issuerJSON{}
	for i := range all {
		if p.Can(all[i].Slug, auth.RoleTrainer) {
			out = append(out, s.issuerOut(&all[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": out})
}

func (s *Server) getIssuer(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleTrainer, "") {
		return
	}
	i, err := s.iss.Issuer(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.issuerOut(i))
}

type keyJSON struct {
	ID                 string `json:"id"`
	Purpose            string `json:"purpose"`
	Alg                string `json:"alg"`
	VerificationMethod string `json:"verificationMethod"`
	JWK                string `json:"jwk"`
	PublicKeyMultibase string `json:"publicKeyMultibase"`
	Created            string `json:"created"`
	Retired            string `json:"retired,omitempty"`
}

// keysOut lists public halves only: no API returns a private key.
func (s *Server) keysOut(slug string, ks []issuing.Key) []keyJSON {
	out := []keyJSON{}
	for _, k := range ks {
		j := keyJSON{ID: k.ID, Purpose: k.Purpose, Alg: string(k.Alg), VerificationMethod: s.iss.IssuerID(slug) + "#" + k.PublicMultibase,
			JWK: s.iss.KeyURL(slug, k.ID), PublicKeyMultibase: k.PublicMultibase, Created: k.CreatedAt.Format("2006-01-02T15:04:05Z")}
		if k.RetiredAt != nil {
			j.Retired = k.RetiredAt.Format("2006-01-02T15:04:05Z")
		}
		out = append(out, j)
	}
	return out
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	ks, err := s.iss.Keys(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": s.keysOut(slug, ks)})
}

func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	ks, err := s.iss.RotateKeys(r.Context(), actor(p), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": s.keysOut(slug, ks)})
}

func (s *Server) achievementOut(ctx context.Context, a *issuing.Achievement) (map[string]any, error) {
	doc, err := s.iss.AchievementDocument(ctx, a.ID, a.Version)
	if err != nil {
		return nil, err
	}
	spec, err := a.Spec()
	if err != nil {
		return nil, err
	}
	if spec.ValidForDays > 0 {
		doc["validForDays"] = spec.ValidForDays
	}
	if spec.RequireSecondAssessor {
		doc["requireSecondAssessor"] = true
	}
	delete(doc, "@context")
	doc["issuer"] = a.Issuer
	return doc, nil
}

func (s *Server) createAchievement(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	var in achievementInput
	if !decode(w, r, &in) {
		return
	}
	spec, ok := s.achievementSpec(w, r, in)
	if !ok {
		return
	}
	a, err := s.iss.CreateAchievement(r.Context(), actor(p), slug, spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.achievementOut(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", s.iss.AchievementURL(a.ID))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listAchievements(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleTrainer, "") {
		return
	}
	list, err := s.iss.Achievements(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for i := range list {
		a, err := s.achievementOut(r.Context(), &list[i])
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"achievements": out})
}

// achievement loads an achievement for a principal who needs role on its
// issuer; it answers the error itself.
func (s *Server) achievement(w http.ResponseWriter, r *http.Request, p *auth.Principal, role auth.Role, scope string) (*issuing.Achievement, bool) {
	id := mux.Vars(r)["id"]
	if !issuing.IsUUID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no achievement "+id, "")
		return nil, false
	}
	a, err := s.iss.Achievement(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if !allow(w, p, a.Issuer, role, scope) {
		return nil, false
	}
	return a, true
}

func (s *Server) getAchievement(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a, ok := s.achievement(w, r, p, auth.RoleTrainer, "")
	if !ok {
		return
	}
	out, err := s.achievementOut(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateAchievement(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a, ok := s.achievement(w, r, p, auth.RoleAdmin, auth.ScopeAdmin)
	if !ok {
		return
	}
	var in achievementInput
	if !decode(w, r, &in) {
		return
	}
	spec, ok := s.achievementSpec(w, r, in)
	if !ok {
		return
	}
	a, err := s.iss.UpdateAchievement(r.Context(), actor(p), a.ID, spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.achievementOut(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// award answers POST /api/v1/awards, with a JSON body, or a CSV body
// (Content-Type: text/csv; columns email, name, did; the achievement and
// narrative in the query). Up to the service's limit the credentials are
// issued within the request (201); a larger batch becomes a job (202).
func (s *Server) award(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var req issuing.AwardRequest
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		body, ok := readBody(w, r, maxJSON)
		if !ok {
			return
		}
		rows, err := parseRecipientsCSV(body)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		req = issuing.AwardRequest{Achievement: r.URL.Query().Get("achievement"), Narrative: r.URL.Query().Get("narrative"), Recipients: rows}
	} else if !decode(w, r, &req) {
		return
	}
	prep, err := s.iss.Prepare(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !allow(w, p, prep.Issuer, auth.RoleTrainer, auth.ScopeAward) {
		return
	}
	if s.iss.IsBulk(prep) {
		j, err := s.iss.StartJob(r.Context(), actor(p), prep)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.metrics.awarded.Add(float64(j.Total))
		w.Header().Set("Location", s.iss.JobURL(j.ID))
		writeJSON(w, http.StatusAccepted, map[string]any{"job": s.iss.JobURL(j.ID), "total": j.Total})
		return
	}
	creds, err := s.iss.Award(r.Context(), actor(p), prep)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.awarded.Add(float64(len(creds)))
	out := make([]map[string]string, len(creds))
	for i, c := range creds {
		out[i] = map[string]string{"id": "urn:uuid:" + c.ID, "url": s.iss.CredentialURL(c.ID)}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"credentials": out})
}

// MaxCSVRows caps an uploaded recipients file.
const maxCSVRows = issuing.MaxRecipients

// parseRecipientsCSV reads a recipients file: a header naming the columns
// (email required; name, did optional; others ignored), then one row per
// recipient. Errors name the line.
func parseRecipientsCSV(body []byte) ([]issuing.RecipientInput, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // spreadsheets add a BOM
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &issuing.InputError{Field: "csv", Reason: "the file is empty; the first line must name the columns (email, name)"}
		}
		return nil, &issuing.InputError{Field: "csv", Reason: "line 1: " + err.Error()}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	emailCol, ok := col["email"]
	if !ok {
		if emailCol, ok = col["courriel"]; !ok {
			return nil, &issuing.InputError{Field: "csv", Reason: "line 1: no email column (the header must name the columns: email, name, did)"}
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []issuing.RecipientInput
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &issuing.InputError{Field: "csv", Reason: fmt.Sprintf("line %d: %v", pe.Line, pe.Err)}
			}
			return nil, &issuing.InputError{Field: "csv", Reason: fmt.Sprintf("line %d: %v", line, err)}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(out) == maxCSVRows {
			return nil, &issuing.InputError{Field: "csv", Reason: fmt.Sprintf("more than %d recipients", maxCSVRows)}
		}
		r := issuing.RecipientInput{Name: get(rec, "name"), DID: get(rec, "did")}
		if emailCol < len(rec) {
			r.Email = strings.TrimSpace(rec[emailCol])
		}
		if r.Name == "" {
			r.Name = get(rec, "nom")
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, &issuing.InputError{Field: "csv", Reason: "no recipient rows after the header"}
	}
	return out, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	j, err := s.iss.Job(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !allow(w, p, j.Issuer, auth.RoleTrainer, "") {
		return
	}
	errs := j.Errors
	if errs == nil {
		errs = []issuing.RowError{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": s.iss.JobURL(j.ID), "state": j.State, "total": j.Total, "done": j.Done, "failed": j.Failed, "errors": errs})
}

func (s *Server) credentialOut(c *issuing.Credential) map[string]any {
	return map[string]any{
		"id": "urn:uuid:" + c.ID, "url": s.iss.CredentialURL(c.ID),
		"recipient":   map[string]string{"email": c.RecipientEmail, "name": c.RecipientName},
		"status":      c.State,
		"achievement": s.iss.AchievementURL(c.AchievementID), "achievementVersion": c.AchievementVersion,
		"issuer": s.iss.IssuerID(c.Issuer), "issued": c.CreatedAt.Format("2006-01-02T15:04:05Z"),
	}
}

func (s *Server) listCredentials(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	query := issuing.CredentialQuery{Issuer: q.Get("issuer")}
	for name, dst := range map[string]*int{"limit": &query.Limit, "offset": &query.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || (name == "limit" && (n < 1 || n > 1000)) {
				writeError(w, http.StatusBadRequest, "invalid", name+" must be a whole number (limit 1 to 1000)", name)
				return
			}
			*dst = n
		}
	}
	if ref := q.Get("achievement"); ref != "" {
		id, err := s.iss.AchievementIDFrom(ref)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		a, err := s.iss.Achievement(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		query.AchievementID = id
		if query.Issuer != "" && query.Issuer != a.Issuer {
			if !allow(w, p, query.Issuer, auth.RoleTrainer, auth.ScopeRead) || !allow(w, p, a.Issuer, auth.RoleTrainer, auth.ScopeRead) {
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"total": 0, "credentials": []any{}})
			return
		}
		query.Issuer = a.Issuer
	}
	if query.Issuer == "" {
		writeError(w, http.StatusBadRequest, "invalid", "say which credentials: achievement=ID or issuer=SLUG", "achievement")
		return
	}
	if !allow(w, p, query.Issuer, auth.RoleTrainer, auth.ScopeRead) {
		return
	}
	list, total, err := s.iss.Credentials(r.Context(), query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]map[string]any, len(list))
	for i := range list {
		out[i] = s.credentialOut(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "credentials": out})
}

func (s *Server) credentialFor(w http.ResponseWriter, r *http.Request, p *auth.Principal, role auth.Role, scope string) (*issuing.Credential, bool) {
	c, err := s.iss.Credential(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if !allow(w, p, c.Issuer, role, scope) {
		return nil, false
	}
	return c, true
}

func (s *Server) getCredential(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	c, ok := s.credentialFor(w, r, p, auth.RoleTrainer, auth.ScopeRead)
	if !ok {
		return
	}
	out := s.credentialOut(c)
	out["reason"] = c.Reason
	out["credential"] = c.Signed
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) changeState(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	c, ok := s.credentialFor(w, r, p, auth.RoleAdmin, auth.ScopeRevoke)
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	var err error
	switch mux.Vars(r)["action"] {
	case "revoke":
		err = s.iss.Revoke(r.Context(), actor(p), c.ID, in.Reason)
	case "suspend":
		err = s.iss.Suspend(r.Context(), actor(p), c.ID, in.Reason)
	default:
		err = s.iss.Reinstate(r.Context(), actor(p), c.ID, in.Reason)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err = s.iss.Credential(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "urn:uuid:" + c.ID, "status": c.State, "reason": c.Reason})
}

// uploadEvidence stores a file sent as the raw body (or as the "file" part
// of a multipart form). Its type is sniffed from its bytes, never taken
// from the client.
func (s *Server) uploadEvidence(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !p.Root && !p.HasScope(auth.ScopeAward) || !canAwardSomewhere(p) {
		writeError(w, http.StatusForbidden, "forbidden", "only trainers upload evidence", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, issuing.MaxEvidenceSize+1<<20)
	body := io.Reader(r.Body)
	name := r.URL.Query().Get("name")
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		f, fh, err := r.FormFile("file")
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("evidence files are limited to %d bytes", issuing.MaxEvidenceSize), "")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "the form needs a file part named \"file\"", "file")
			return
		}
		defer f.Close()
		body, name = f, fh.Filename
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("evidence files are limited to %d bytes", issuing.MaxEvidenceSize), "")
			return
		}
		writeError(w, http.StatusBadRequest, "bad_body", "the file could not be read", "")
		return
	}
	if n == 0 {
		writeError(w, http.StatusBadRequest, "invalid", "the file is empty", "file")
		return
	}
	head = head[:n]
	mt := sniff(head)
	b, err := s.iss.PutEvidence(r.Context(), actor(p), name, mt, io.MultiReader(bytes.NewReader(head), body))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("evidence files are limited to %d bytes", issuing.MaxEvidenceSize), "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"url": s.iss.EvidenceURL(b.SHA256), "sha256": b.SHA256, "mediaType": b.MediaType, "size": b.Size, "name": b.Name})
}

func canAwardSomewhere(p *auth.Principal) bool {
	if p.Root {
		return true
	}
	for _, r := range p.Roles {
		if r.Satisfies(auth.RoleTrainer) {
			return true
		}
	}
	return false
}

// sniff names a file's type from its first bytes, as browsers would, with
// SVG recognised (DetectContentType calls it text/xml or text/plain).
func sniff(head []byte) string {
	mt := http.DetectContentType(head)
	if strings.HasPrefix(mt, "text/xml") || strings.HasPrefix(mt, "text/plain") {
		if bytes.Contains(head, []byte("<svg")) {
			return "image/svg+xml"
		}
	}
	return mt
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	roles := map[string]string{}
	for k, v := range p.Roles {
		roles[k] = string(v)
	}
	out := map[string]any{"kind": p.Kind, "email": p.Email, "name": p.Name, "root": p.Root, "roles": roles, "scopes": p.Scopes}
	// A signed-in browser learns here the token to send in X-CSRF-Token.
	if secret, ok := r.Context().Value(csrfKey{}).(string); ok {
		out["csrfToken"] = auth.CSRFToken(secret)
	}
	writeJSON(w, http.StatusOK, out)
}

// idempotent makes a POST safe to retry: with an Idempotency-Key header,
// the first answer is stored and replayed for the same key and body; the
// same key with another body is refused.
func (s *Server) idempotent(h func(http.ResponseWriter, *http.Request, *auth.Principal)) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || s.idem == nil {
			h(w, r, p)
			return
		}
		if len(key) > 200 {
			writeError(w, http.StatusBadRequest, "invalid", "Idempotency-Key is longer than 200 characters", "Idempotency-Key")
			return
		}
		body, ok := readBody(w, r, maxJSON)
		if !ok {
			return
		}
		sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.RequestURI()+"\n"+r.Header.Get("Content-Type")+"\n"), body...))
		who := actor(p)
		status, stored, err := s.idem.BeginIdempotent(r.Context(), who, key, hex.EncodeToString(sum[:]))
		switch {
		case errors.Is(err, issuing.ErrConflict):
			writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for a different request", "Idempotency-Key")
			return
		case err != nil:
			s.fail(w, r, err)
			return
		case status > 0:
			if loc, rest, ok := bytes.Cut(stored, []byte("\n")); ok {
				if len(loc) > 0 {
					w.Header().Set("Location", string(loc))
				}
				stored = rest
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(stored)
			return
		case status < 0:
			writeError(w, http.StatusConflict, "in_progress", "a request with this Idempotency-Key is still running; retry later", "Idempotency-Key")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w}
		ctx := context.WithoutCancel(r.Context())
		finished := false
		// A refused request may be corrected and sent again with its key;
		// so may one whose handler panicked.
		defer func() {
			if !finished {
				s.idem.AbortIdempotent(ctx, who, key)
			}
		}()
		h(rec, r, p)
		if rec.status >= 200 && rec.status < 300 {
			// The stored answer is the Location header, a newline, the body.
			stored := append([]byte(w.Header().Get("Location")+"\n"), rec.body.Bytes()...)
			if err := s.idem.FinishIdempotent(ctx, who, key, rec.status, stored); err != nil {
				s.log.ErrorContext(ctx, "idempotency", "err", err)
				return
			}
			finished = true
		}
	}
}

// recorder passes a response through while keeping a copy.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
