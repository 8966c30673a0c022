package api

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
)

// completionRoutes registers completions, mappings, parcours and the
// learners' progress.
func (s *Server) completionRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/completions", s.authed(s.recordCompletions)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/mappings", s.authed(s.createMapping)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/mappings", s.authed(s.listMappings)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/mappings/{id}", s.authed(s.getMapping)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/mappings/{id}", s.authed(s.deleteMapping)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/parcours", s.authed(s.createParcours)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/parcours", s.authed(s.listParcours)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/parcours/{id}", s.authed(s.getParcours)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/parcours/{id}", s.authed(s.deleteParcours)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/learners/{email}/parcours", s.authed(s.learnerParcours)).Methods(http.MethodGet)
	s.completionAwardRoutes(r)
}

// decodeCompletions reads a JSON array of completions, or an object
// {"completions": [...]}, strictly: unknown fields and wrong types are
// input errors naming the field. The completions themselves are checked
// by the completion service.
func decodeCompletions(body []byte) ([]completion.Completion, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var cs []completion.Completion
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := decodeJSON(body, &cs); err != nil {
			return nil, err
		}
	} else {
		var wrap struct {
			Completions []completion.Completion `json:"completions"`
		}
		if err := decodeJSON(body, &wrap); err != nil {
			return nil, err
		}
		cs = wrap.Completions
	}
	return cs, nil
}

// recordCompletions answers POST /api/v1/completions. Root's completions
// apply every issuer's mappings; an issuer's trainers and admins (tokens
// with awards:write) apply only the mappings of the issuers they may award
// for: a completion is a claim by its sender, and a sender may not make
// another issuer award. Parcours apply whoever sent it.
func (s *Server) recordCompletions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var scope []string
	if !p.Root {
		if !p.HasScope(auth.ScopeAward) {
			writeError(w, http.StatusForbidden, "forbidden", "this token lacks the scope "+auth.ScopeAward, "")
			return
		}
		for slug := range p.Roles {
			if p.Can(slug, auth.RoleTrainer) {
				scope = append(scope, slug)
			}
		}
		if len(scope) == 0 {
			writeError(w, http.StatusForbidden, "forbidden", "you need the trainer or admin role on an issuer to send completions", "")
			return
		}
		slices.Sort(scope)
	}
	body, ok := readBody(w, r, maxJSON)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONType(ct) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON (Content-Type: application/json), not "+ct, "")
		return
	}
	cs, err := decodeCompletions(body)
	if err != nil {
		var in *issuing.InputError
		errors.As(err, &in)
		writeError(w, http.StatusBadRequest, "invalid_json", in.Error(), in.Field)
		return
	}
	for i := range cs {
		// What the sender says of itself is not taken on trust.
		cs[i].Source, cs[i].Client = "json", actor(p)
	}
	res, err := s.completions.RecordFor(r.Context(), scope, cs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Awarded == nil {
		res.Awarded = []string{}
	}
	writeJSON(w, http.StatusOK, res)
}

func isJSONType(ct string) bool {
	base := strings.TrimSpace(strings.SplitN(ct, ";", 2)[0])
	return base == "application/json" || strings.HasSuffix(base, "+json")
}

type mappingJSON struct {
	ID          string                `json:"id"`
	Activity    string                `json:"activity"`
	Kind        string                `json:"kind"`
	Achievement string                `json:"achievement"`
	Issuer      string                `json:"issuer"`
	Conditions  completion.Conditions `json:"conditions"`
	Created     string                `json:"created"`
}

func (s *Server) mappingOut(m *completion.Mapping) mappingJSON {
	return mappingJSON{ID: m.ID, Activity: m.Value, Kind: m.Kind, Achievement: s.iss.AchievementURL(m.AchievementID), Issuer: m.Issuer,
		Conditions: m.Conditions, Created: m.CreatedAt.UTC().Format(time.RFC3339)}
}

// createMapping: only an admin of the achievement's issuer maps
// activities to it.
func (s *Server) createMapping(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in completion.MappingInput
	if !decode(w, r, &in) {
		return
	}
	m, err := s.completions.NewMapping(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !allow(w, p, m.Issuer, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	if err := s.completions.SaveMapping(r.Context(), actor(p), m); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", s.iss.BaseURL()+"/api/v1/mappings/"+m.ID)
	writeJSON(w, http.StatusCreated, s.mappingOut(m))
}

// visibleIssuers returns the issuers whose resources p may read: those
// named by ?issuer= (checked), or all p is a trainer of. A token needs the
// credentials:read scope.
func visibleIssuers(w http.ResponseWriter, r *http.Request, p *auth.Principal) (func(string) bool, bool) {
	if !p.HasScope(auth.ScopeRead) {
		writeError(w, http.StatusForbidden, "forbidden", "this token lacks the scope "+auth.ScopeRead, "")
		return nil, false
	}
	if slug := r.URL.Query().Get("issuer"); slug != "" {
		if !allow(w, p, slug, auth.RoleTrainer, auth.ScopeRead) {
			return nil, false
		}
		return func(i string) bool { return i == slug }, true
	}
	return func(i string) bool { return p.Can(i, auth.RoleTrainer) }, true
}

func (s *Server) listMappings(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	visible, ok := visibleIssuers(w, r, p)
	if !ok {
		return
	}
	ms, err := s.completions.Mappings(r.Context(), r.URL.Query().Get("issuer"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []mappingJSON{}
	for i := range ms {
		if visible(ms[i].Issuer) {
			out = append(out, s.mappingOut(&ms[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"mappings": out})
}

func (s *Server) mapping(w http.ResponseWriter, r *http.Request, p *auth.Principal, role auth.Role, scope string) (*completion.Mapping, bool) {
	m, err := s.completions.Mapping(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return m, allow(w, p, m.Issuer, role, scope)
}

func (s *Server) getMapping(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if m, ok := s.mapping(w, r, p, auth.RoleTrainer, auth.ScopeRead); ok {
		writeJSON(w, http.StatusOK, s.mappingOut(m))
	}
}

func (s *Server) deleteMapping(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	m, ok := s.mapping(w, r, p, auth.RoleAdmin, auth.ScopeAdmin)
	if !ok {
		return
	}
	if err := s.completions.DeleteMapping(r.Context(), actor(p), m); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type parcoursJSON struct {
	ID          string   `json:"id"`
	Achievement string   `json:"achievement"`
	Issuer      string   `json:"issuer"`
	Modules     []string `json:"modules"`
	Required    int      `json:"required"`
	Created     string   `json:"created"`
}

func (s *Server) parcoursOut(pc *completion.Parcours) parcoursJSON {
	mods := make([]string, len(pc.Members))
	for i, m := range pc.Members {
		mods[i] = s.iss.AchievementURL(m)
	}
	req := pc.Required
	if req <= 0 || req > len(mods) {
		req = len(mods)
	}
	return parcoursJSON{ID: pc.ID, Achievement: s.iss.AchievementURL(pc.AchievementID), Issuer: pc.Issuer, Modules: mods, Required: req,
		Created: pc.CreatedAt.UTC().Format(time.RFC3339)}
}

// createParcours: only an admin of the parcours achievement's issuer
// defines it; its modules may be any issuer's achievements.
func (s *Server) createParcours(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in completion.ParcoursInput
	if !decode(w, r, &in) {
		return
	}
	pc, err := s.completions.NewParcours(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !allow(w, p, pc.Issuer, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	if err := s.completions.SaveParcours(r.Context(), actor(p), pc); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", s.iss.BaseURL()+"/api/v1/parcours/"+pc.ID)
	writeJSON(w, http.StatusCreated, s.parcoursOut(pc))
}

func (s *Server) listParcours(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	visible, ok := visibleIssuers(w, r, p)
	if !ok {
		return
	}
	ps, err := s.completions.ParcoursList(r.Context(), r.URL.Query().Get("issuer"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []parcoursJSON{}
	for i := range ps {
		if visible(ps[i].Issuer) {
			out = append(out, s.parcoursOut(&ps[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"parcours": out})
}

func (s *Server) parcours(w http.ResponseWriter, r *http.Request, p *auth.Principal, role auth.Role, scope string) (*completion.Parcours, bool) {
	pc, err := s.completions.Parcours(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return pc, allow(w, p, pc.Issuer, role, scope)
}

func (s *Server) getParcours(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if pc, ok := s.parcours(w, r, p, auth.RoleTrainer, auth.ScopeRead); ok {
		writeJSON(w, http.StatusOK, s.parcoursOut(pc))
	}
}

func (s *Server) deleteParcours(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	pc, ok := s.parcours(w, r, p, auth.RoleAdmin, auth.ScopeAdmin)
	if !ok {
		return
	}
	if err := s.completions.DeleteParcours(r.Context(), actor(p), pc); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// learnerParcours answers GET /api/v1/learners/{email}/parcours: the
// learner themself and root see every parcours; an issuer's trainers and
// admins (tokens with credentials:read) see that issuer's, and only for a
// learner their issuers awarded (404 otherwise, as for the competency
// profile, so that the answer does not tell what other issuers did).
func (s *Server) learnerParcours(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	email := badges.NormalizeEmail(mux.Vars(r)["email"])
	self := p.Kind == auth.KindUser && p.Email != "" && badges.NormalizeEmail(p.Email) == email
	visible := func(string) bool { return true }
	if !p.Root && !self {
		if !p.HasScope(auth.ScopeRead) {
			writeError(w, http.StatusForbidden, "forbidden", "this token lacks the scope "+auth.ScopeRead, "")
			return
		}
		trainer := false
		for slug := range p.Roles {
			trainer = trainer || p.Can(slug, auth.RoleTrainer)
		}
		if !trainer {
			writeError(w, http.StatusForbidden, "forbidden", "only the learner, or a trainer or admin of an issuer, may read a learner's progress", "")
			return
		}
		visible = func(i string) bool { return p.Can(i, auth.RoleTrainer) }
		awarded, err := s.completions.AwardedBy(r.Context(), email, visible)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !awarded {
			writeError(w, http.StatusNotFound, "not_found", "none of your issuers awarded "+email+" a credential", "")
			return
		}
	}
	pr, err := s.completions.LearnerProgress(r.Context(), email, visible)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"learner": email, "parcours": pr})
}
