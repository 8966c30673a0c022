package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi"
)

// CompletionRecorder records completions once each and awards what they
// satisfy: the completion service.
type CompletionRecorder interface {
	Record(ctx context.Context, cs []completion.Completion) (completion.Result, error)
}

// xapiVersionHeader is required on every xAPI request but GET /xapi/about,
// and set on every answer.
const xapiVersionHeader = "X-Experience-API-Version"

// xapiRoutes registers the xAPI statement resource (for LMS clients, HTTP
// Basic), the management of LMS clients, and the other ways completions
// come in (Moodle CSV report, Moodle web services pull).
func (s *Server) xapiRoutes(r *mux.Router) {
	r.HandleFunc("/xapi/about", s.xapiAbout).Methods(http.MethodGet)
	r.HandleFunc("/xapi/statements", s.lrs(s.postStatements)).Methods(http.MethodPost)
	r.HandleFunc("/xapi/statements", s.lrs(s.putStatement)).Methods(http.MethodPut)
	r.HandleFunc("/api/v1/lms-clients", s.authed(s.createLMSClient)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/lms-clients", s.authed(s.listLMSClients)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/lms-clients/{id}", s.authed(s.revokeLMSClient)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/completions/import", s.authed(s.importCompletionsCSV)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/moodle/pull", s.authed(s.moodlePull)).Methods(http.MethodPost)
}

func (s *Server) xapiAbout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(xapiVersionHeader, xapi.Version)
	writeJSON(w, http.StatusOK, map[string]any{"version": []string{xapi.Version}, "extensions": map[string]any{}})
}

// lrs wraps an xAPI handler: the version header answered and checked,
// the LMS client authenticated with HTTP Basic key:secret.
func (s *Server) lrs(h func(http.ResponseWriter, *http.Request, xapi.Client)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(xapiVersionHeader, xapi.Version)
		key, secret, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="insigne xAPI"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "send the LMS client's key and secret with HTTP Basic authentication", "")
			return
		}
		c, err := s.xapi.Authenticate(r.Context(), key, secret)
		if errors.Is(err, xapi.ErrUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Basic realm="insigne xAPI"`)
			writeError(w, http.StatusUnauthorized, "unauthenticated", "unknown or revoked LMS client, or wrong secret", "")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := r.Header.Get(xapiVersionHeader)
		switch {
		case v == "":
			writeError(w, http.StatusBadRequest, "xapi_version", "the "+xapiVersionHeader+" header is missing: send 1.0.3", xapiVersionHeader)
			return
		case v != "1.0" && !strings.HasPrefix(v, "1.0."):
			writeError(w, http.StatusBadRequest, "xapi_version", "xAPI version "+clipString(v)+" is not supported: send 1.0.3 (any 1.0.x is accepted)", xapiVersionHeader)
			return
		}
		if r.URL.Query().Has("method") {
			writeError(w, http.StatusBadRequest, "invalid", "the alternate request syntax (method parameter) is not supported: send a plain POST or PUT", "method")
			return
		}
		h(w, r, c)
	}
}

func clipString(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// readStatements reads a capped JSON body, answering the error itself.
func readStatements(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "multipart/") {
		writeError(w, http.StatusBadRequest, "invalid_statement", "statements with attachments (multipart/mixed) are not accepted: a completion needs none", "attachments")
		return nil, false
	}
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, "invalid_statement", "send statements as application/json, not "+clipString(ct), "Content-Type")
		return nil, false
	}
	return readBody(w, r, xapi.MaxBody)
}

func (s *Server) postStatements(w http.ResponseWriter, r *http.Request, c xapi.Client) {
	body, ok := readStatements(w, r)
	if !ok {
		return
	}
	ids, _, err := s.xapi.Save(r.Context(), c, body, "")
	if err != nil {
		s.xapiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

func (s *Server) putStatement(w http.ResponseWriter, r *http.Request, c xapi.Client) {
	id := r.URL.Query().Get("statementId")
	if id == "" {
		writeError(w, http.StatusBadRequest, "invalid_statement", "PUT needs the statementId parameter", "statementId")
		return
	}
	body, ok := readStatements(w, r)
	if !ok {
		return
	}
	if _, _, err := s.xapi.Save(r.Context(), c, body, id); err != nil {
		s.xapiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// xapiFail answers the errors of the statement resource with the status
// the xAPI specification gives them.
func (s *Server) xapiFail(w http.ResponseWriter, r *http.Request, err error) {
	var se *xapi.Error
	switch {
	case errors.As(err, &se):
		writeError(w, http.StatusBadRequest, "invalid_statement", se.Error(), se.Path)
	case errors.Is(err, xapi.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", strings.TrimPrefix(err.Error(), "xapi: "), "")
	case errors.Is(err, xapi.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error()+" (xAPI statements are immutable: send a new id)", "id")
	default:
		s.fail(w, r, err)
	}
}

type lmsClientJSON struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Secret  string `json:"secret,omitempty"` // only once, when created
	Name    string `json:"name"`
	Issuer  string `json:"issuer"`
	Created string `json:"created"`
	Revoked string `json:"revoked,omitempty"`
	// Endpoint is the xAPI endpoint to configure in the LMS.
	Endpoint string `json:"endpoint,omitempty"`
}

func lmsClientOut(c xapi.Client) lmsClientJSON {
	out := lmsClientJSON{ID: c.ID, Key: c.Key, Name: c.Name, Issuer: c.Issuer, Created: c.CreatedAt.Format(time.RFC3339)}
	if c.RevokedAt != nil {
		out.Revoked = c.RevokedAt.Format(time.RFC3339)
	}
	return out
}

// soleIssuer is the issuer a principal acts for when a request names
// none: the one issuer it administers. Root and people with several
// issuers must name one.
func soleIssuer(p *auth.Principal, need auth.Role) string {
	if p.Root {
		return ""
	}
	one := ""
	for slug, role := range p.Roles {
		if role.Satisfies(need) {
			if one != "" {
				return ""
			}
			one = slug
		}
	}
	return one
}

// issuerFor finds the issuer a request acts for (given, or the sole one
// the principal holds role on), checks the role and scope and that the
// issuer exists; it answers the refusal itself.
func (s *Server) issuerFor(w http.ResponseWriter, r *http.Request, p *auth.Principal, given string, role auth.Role, scope string) (string, bool) {
	slug := given
	if slug == "" {
		slug = soleIssuer(p, role)
	}
	if slug == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name the issuer (you act for several, or for none)", "issuer")
		return "", false
	}
	if !allow(w, p, slug, role, scope) {
		return "", false
	}
	if _, err := s.iss.Issuer(r.Context(), slug); err != nil {
		s.fail(w, r, err)
		return "", false
	}
	return slug, true
}

// createLMSClient: an issuer's administrator (or root, naming the issuer)
// makes an LMS client; its completions may trigger that issuer's
// mappings only.
func (s *Server) createLMSClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in struct {
		Name   string `json:"name"`
		Issuer string `json:"issuer"`
	}
	if !decode(w, r, &in) {
		return
	}
	slug, ok := s.issuerFor(w, r, p, in.Issuer, auth.RoleAdmin, auth.ScopeAdmin)
	if !ok {
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name the LMS client (e.g. the Moodle site it is for)", "name")
		return
	}
	c, secret, err := s.xapi.CreateClient(r.Context(), slug, in.Name, actor(p))
	if errors.Is(err, xapi.ErrInvalid) {
		writeError(w, http.StatusBadRequest, "invalid", strings.TrimPrefix(err.Error(), "xapi: invalid: "), "name")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "LMS client created", "issuer", slug, "client", c.ID, "by", actor(p))
	out := lmsClientOut(c)
	out.Secret = secret
	out.Endpoint = strings.TrimSuffix(s.baseURL, "/") + "/xapi/"
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listLMSClients(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	slug, ok := s.issuerFor(w, r, p, r.URL.Query().Get("issuer"), auth.RoleAdmin, auth.ScopeAdmin)
	if !ok {
		return
	}
	cs, err := s.xapi.Clients(r.Context(), slug)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]lmsClientJSON, len(cs))
	for i, c := range cs {
		out[i] = lmsClientOut(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (s *Server) revokeLMSClient(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := mux.Vars(r)["id"]
	c, err := s.xapi.ClientByID(r.Context(), id)
	if errors.Is(err, xapi.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no LMS client "+clipString(id), "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !allow(w, p, c.Issuer, auth.RoleAdmin, auth.ScopeAdmin) {
		return
	}
	if err := s.xapi.RevokeClient(r.Context(), c.Issuer, c.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "LMS client revoked", "issuer", c.Issuer, "client", c.ID, "by", actor(p))
	w.WriteHeader(http.StatusNoContent)
}

// record hands completions sent for issuer to the completion service
// (only that issuer's mappings apply when the service can tell), answering
// 503 when none is configured.
func (s *Server) record(w http.ResponseWriter, r *http.Request, issuer string, cs []completion.Completion) (completion.Result, bool) {
	if s.rec == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this server records no completions (no completion service configured)", "")
		return completion.Result{}, false
	}
	if len(cs) == 0 {
		return completion.Result{}, true
	}
	res, err := xapi.RecordFor(r.Context(), s.rec, issuer, cs)
	if err != nil {
		s.fail(w, r, err)
		return res, false
	}
	return res, true
}
