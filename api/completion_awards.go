package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
)

// completionAwardRoutes registers the award decisions completions made,
// for the issuer's staff: which failed (to retry) or were cancelled.
func (s *Server) completionAwardRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/issuers/{slug}/completion-awards", s.authed(s.listCompletionAwards)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/issuers/{slug}/completion-awards/{id}/retry", s.authed(s.retryCompletionAward)).Methods(http.MethodPost)
}

type completionAwardJSON struct {
	ID          string `json:"id"` // the credential's uuid, fixed when deciding
	Learner     string `json:"learner"`
	Name        string `json:"name,omitempty"`
	Achievement string `json:"achievement"`
	Issuer      string `json:"issuer"`
	State       string `json:"state"`
	// Rule is the mapping or parcours that decided it (API URL).
	Rule       string `json:"rule,omitempty"`
	Activity   string `json:"activity,omitempty"`
	Error      string `json:"error,omitempty"`
	Attempts   int    `json:"attempts"`
	Decided    string `json:"decided"`
	Issued     string `json:"issued,omitempty"`
	Credential string `json:"credential,omitempty"`
}

func (s *Server) completionAwardOut(d *completion.Decision) completionAwardJSON {
	out := completionAwardJSON{ID: d.CredentialID, Learner: d.Learner, Name: d.Name, Achievement: s.iss.AchievementURL(d.AchievementID),
		Issuer: d.Issuer, State: d.State, Activity: d.Activity, Error: d.Error, Attempts: d.Attempts, Decided: d.CreatedAt.UTC().Format(time.RFC3339)}
	switch kind, id, _ := strings.Cut(d.Reason, ":"); kind {
	case "mapping":
		out.Rule = s.iss.BaseURL() + "/api/v1/mappings/" + id
	case "parcours":
		out.Rule = s.iss.BaseURL() + "/api/v1/parcours/" + id
	}
	if d.State == completion.AwardIssued {
		out.Issued = d.IssuedAt.UTC().Format(time.RFC3339)
		out.Credential = s.iss.CredentialURL(d.CredentialID)
	}
	return out
}

// listCompletionAwards answers GET /api/v1/issuers/{slug}/completion-awards:
// the issuer's award decisions in ?state= (failed by default, or pending,
// issued, cancelled, all), oldest first, a page at a time. The issuer's
// trainers and admins (tokens with credentials:read) and root.
func (s *Server) listCompletionAwards(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug := mux.Vars(r)["slug"]
	if !allow(w, p, slug, auth.RoleTrainer, auth.ScopeRead) {
		return
	}
	if _, err := s.iss.Issuer(r.Context(), slug); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = completion.AwardFailed
	case "all":
		state = ""
	}
	var limit, offset int
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || (name == "limit" && n < 1) {
				writeError(w, http.StatusBadRequest, "invalid", "limit must be a whole number from 1 to 1000, offset from 0", name)
				return
			}
			*dst = n
		}
	}
	list, total, err := s.completions.IssuerAwards(r.Context(), slug, state, limit, offset)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]completionAwardJSON, len(list))
	for i := range list {
		out[i] = s.completionAwardOut(&list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "completionAwards": out})
}

// retryCompletionAward answers POST
// /api/v1/issuers/{slug}/completion-awards/{id}/retry: a failed award is
// tried again now, and answered as it stands after (issued, or failed
// with the new reason). The issuer's admins (tokens with issuers:admin)
// and root; another issuer's award is not found here.
func (s *Server) retryCompletionAward(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := mux.Vars(r)
	if !allow(w, p, v["slug"], auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	d, err := s.completions.RetryAward(r.Context(), actor(p), v["slug"], v["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.completionAwardOut(d))
}
