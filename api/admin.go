package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
)

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be between 1 and 1000", "limit")
			return
		}
		limit = n
	}
	entries, err := s.iss.AuditLog(r.Context(), slug, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]map[string]string, len(entries))
	for i, e := range entries {
		out[i] = map[string]string{"at": e.At.Format("2006-01-02T15:04:05.000Z"), "actor": e.Actor, "action": e.Action, "target": e.Target, "detail": e.Detail}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
}

type tokenJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Issuer  string   `json:"issuer"`
	Role    string   `json:"role"`
	Scopes  []string `json:"scopes"`
	Created string   `json:"created"`
	Revoked string   `json:"revoked,omitempty"`
	Token   string   `json:"token,omitempty"` // only once, when created
}

func tokenOut(t auth.APIToken) tokenJSON {
	out := tokenJSON{ID: t.ID, Name: t.Name, Issuer: t.Issuer, Role: string(t.Role), Scopes: t.Scopes, Created: t.CreatedAt.Format("2006-01-02T15:04:05Z")}
	if t.RevokedAt != nil {
		out.Revoked = t.RevokedAt.Format("2006-01-02T15:04:05Z")
	}
	return out
}

// createToken issues an API token for an issuer. The plain token is in
// this answer only; Insigne keeps its hash.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug, ok := s.administered(w, r, p)
	if !ok {
		return
	}
	var in struct {
		Name   string   `json:"name"`
		Role   string   `json:"role"`
		Scopes []string `json:"scopes"`
	}
	if !decode(w, r, &in) {
		return
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error(), "role")
		return
	}
	plain, t, err := s.auth.IssueToken(r.Context(), p, slug, in.Name, role, in.Scopes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := tokenOut(t)
	out.Token = plain
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	ts, err := s.auth.Tokens(r.Context(), p, slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenOut(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := mux.Vars(r)
	if !allow(w, p, v["slug"], auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	if err := s.auth.RevokeToken(r.Context(), p, v["slug"], v["id"]); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addMember gives a person a role on an issuer, creating their account
// (with a password, on the embedded default) when it does not exist.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug, ok := s.administered(w, r, p)
	if !ok {
		return
	}
	var in struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", err.Error(), "role")
		return
	}
	u, err := s.auth.AddMember(r.Context(), p, slug, in.Email, in.Name, in.Password, role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u.ID, "email": u.Email, "issuer": slug, "role": role})
}

// administered checks that the issuer in the path exists and that p
// administers it, answering the refusal itself.
func (s *Server) administered(w http.ResponseWriter, r *http.Request, p *auth.Principal) (string, bool) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleAdmin, auth.ScopeAdmin) {
		return "", false
	}
	if _, err := s.iss.Issuer(r.Context(), slug); err != nil {
		s.fail(w, r, err)
		return "", false
	}
	return slug, true
}

// peopleRoutes: the right to erasure, exercised by the root on request.
func (s *Server) peopleRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/people/{email}", s.authed(s.deletePerson)).Methods(http.MethodDelete)
}

// deletePerson answers DELETE /api/v1/people/{email}: the person's
// account (if any) and personal data go, as when the lifecycle deletes
// an account; their credentials stay verifiable through their status.
// Root only: the request comes from the person through the data
// protection officer, not from an issuer.
func (s *Server) deletePerson(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if !p.Root {
		writeError(w, http.StatusForbidden, "forbidden", "only the root account deletes a person", "")
		return
	}
	d, err := s.lifecycle.Delete(r.Context(), actor(p), mux.Vars(r)["email"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	removed := map[string]int64{}
	for k, n := range d.Removed {
		if n > 0 {
			removed[k] = n
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": d.UserID, "removed": removed, "evidence": len(d.Evidence)})
}
