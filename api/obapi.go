package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges/vcjwt"
)

// OBTokens checks access tokens of the Open Badges 3.0 API (package oauth implements it).
type OBTokens interface {
	// AuthenticateOB returns the user id the token was granted by and its scopes (full scope URIs), or an error when the token is unknown, expired or revoked.
	AuthenticateOB(ctx context.Context, accessToken string) (userID string, scopes []string, err error)
}

// The Open Badges 3.0 API scopes.
const (
	ScopeCredentialReadonly = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"
	ScopeCredentialUpsert   = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.upsert"
	ScopeProfileReadonly    = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.readonly"
	ScopeProfileUpdate      = "https://purl.imsglobal.org/spec/ob/v3p0/scope/profile.update"
)

// obResourceRoutes serves the learner's backpack to other wallets and
// platforms as an Open Badges 3.0 resource server. The authorization
// server (discovery, registration, authorize, token) is package oauth's.
func (s *Server) obResourceRoutes(r *mux.Router) {
	r.HandleFunc("/ims/ob/v3p0/credentials", s.obAuthed(ScopeCredentialReadonly, s.obGetCredentials)).Methods(http.MethodGet)
	r.HandleFunc("/ims/ob/v3p0/credentials", s.obAuthed(ScopeCredentialUpsert, s.obUpsertCredential)).Methods(http.MethodPost)
	r.HandleFunc("/ims/ob/v3p0/profile", s.obAuthed(ScopeProfileReadonly, s.obGetProfile)).Methods(http.MethodGet)
	r.HandleFunc("/ims/ob/v3p0/profile", s.obAuthed(ScopeProfileUpdate, s.obPutProfile)).Methods(http.MethodPut)
}

// imsxStatus is the OB 3.0 API error body (Imsx_StatusInfo).
type imsxStatus struct {
	CodeMajor   string `json:"imsx_codeMajor"`
	Severity    string `json:"imsx_severity"`
	Description string `json:"imsx_description,omitempty"`
	CodeMinor   *struct {
		Fields []imsxMinorField `json:"imsx_codeMinorField"`
	} `json:"imsx_codeMinor,omitempty"`
}

type imsxMinorField struct {
	Name  string `json:"imsx_codeMinorFieldName"`
	Value string `json:"imsx_codeMinorFieldValue"`
}

// writeIMSX answers an OB API error; minor is one of the spec's codes
// (invalid_data, unauthorizedrequest, forbidden, not_found…).
func writeIMSX(w http.ResponseWriter, status int, minor, msg string) {
	st := imsxStatus{CodeMajor: "failure", Severity: "error", Description: msg}
	st.CodeMinor = &struct {
		Fields []imsxMinorField `json:"imsx_codeMinorField"`
	}{Fields: []imsxMinorField{{Name: "TargetEndSystem", Value: minor}}}
	writeJSON(w, status, st)
}

// obAuthed authenticates an OB API access token and checks its scope.
func (s *Server) obAuthed(scope string, h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="insigne"`)
			writeIMSX(w, http.StatusUnauthorized, "unauthorizedrequest", "send an access token in Authorization: Bearer")
			return
		}
		if s.obTokens == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="insigne", error="invalid_token"`)
			writeIMSX(w, http.StatusUnauthorized, "unauthorizedrequest", "this service grants no Open Badges API access tokens")
			return
		}
		user, scopes, err := s.obTokens.AuthenticateOB(r.Context(), tok)
		if err != nil || user == "" {
			if r.Context().Err() != nil {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="insigne", error="invalid_token"`)
			writeIMSX(w, http.StatusUnauthorized, "unauthorizedrequest", "the access token is unknown, expired or revoked")
			return
		}
		if !slices.Contains(scopes, scope) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="insigne", error="insufficient_scope", scope="`+scope+`"`)
			writeIMSX(w, http.StatusForbidden, "forbidden", "the access token lacks the scope "+scope)
			return
		}
		h(w, r, user)
	}
}

// failOB answers a domain error in the OB API's shape.
func (s *Server) failOB(w http.ResponseWriter, r *http.Request, err error) {
	var in *backpack.InputError
	switch {
	case errors.As(err, &in):
		writeIMSX(w, http.StatusBadRequest, "invalid_data", in.Error())
	case errors.Is(err, backpack.ErrNotFound):
		writeIMSX(w, http.StatusNotFound, "not_found", err.Error())
	default:
		if r.Context().Err() != nil {
			return
		}
		s.log.ErrorContext(r.Context(), "OB API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeIMSX(w, http.StatusInternalServerError, "internal_server_error", "something went wrong on our side; it has been logged")
	}
}

func (s *Server) obGetCredentials(w http.ResponseWriter, r *http.Request, user string) {
	q := r.URL.Query()
	limit, offset := backpack.MaxPage, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeIMSX(w, http.StatusBadRequest, "invalid_query_parameter", "limit must be a positive whole number")
			return
		}
		limit = min(n, backpack.MaxPage)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeIMSX(w, http.StatusBadRequest, "invalid_query_parameter", "offset must be a whole number, 0 or more")
			return
		}
		offset = n
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeIMSX(w, http.StatusBadRequest, "invalid_query_parameter", "since must be an RFC 3339 date and time, like 2026-01-01T00:00:00Z")
			return
		}
		since = t
	}
	items, total, err := s.backpack.List(r.Context(), user, backpack.Query{Limit: limit, Offset: offset, Since: since, OB3Only: true, WithPayload: true})
	if err != nil {
		s.failOB(w, r, err)
		return
	}
	// Assembled by hand: each credential goes out byte for byte as it was
	// stored (re-encoding would reflow it and escape characters).
	var body bytes.Buffer
	body.WriteString(`{"credential":[`)
	n := 0
	var jws []string
	for _, it := range items {
		p := bytes.TrimSpace(it.Payload)
		switch {
		case vcjwt.LooksLikeJWS(p):
			jws = append(jws, string(p))
		case len(p) > 0 && json.Valid(p):
			if n > 0 {
				body.WriteByte(',')
			}
			body.Write(p)
			n++
		}
	}
	body.WriteString(`],"compactJwsStrings":`)
	if jws == nil {
		jws = []string{}
	}
	js, _ := json.Marshal(jws)
	body.Write(js)
	body.WriteString("}\n")
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	w.Header().Set("Link", obLinks(s.backpack.BaseURL()+r.URL.Path, q, limit, offset, total))
	writePrivate(w, "application/json", http.StatusOK, body.Bytes())
}

// obLinks is the Link header of a page: first and last always, next
// while the list goes on, prev after the first page.
func obLinks(base string, q url.Values, limit, offset, total int) string {
	link := func(off int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("offset", strconv.Itoa(off))
		return fmt.Sprintf("<%s?%s>; rel=%q", base, v.Encode(), rel)
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	links := []string{}
	if offset+limit < total {
		links = append(links, link(offset+limit, "next"))
	}
	links = append(links, link(last, "last"), link(0, "first"))
	if offset > 0 {
		links = append(links, link(max(offset-limit, 0), "prev"))
	}
	return strings.Join(links, ", ")
}

func (s *Server) obUpsertCredential(w http.ResponseWriter, r *http.Request, user string) {
	body, ok := readOBBody(w, r, backpack.MaxImport)
	if !ok {
		return
	}
	ct := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	switch ct {
	case "application/json", "application/vc+ld+json", "application/ld+json", "text/plain", "application/vc+jwt", "application/jwt", "":
	default:
		writeIMSX(w, http.StatusUnsupportedMediaType, "invalid_data", "send the credential as application/json or a compact JWS as text/plain, not "+ct)
		return
	}
	it, created, err := s.backpack.Upsert(r.Context(), user, body)
	if err != nil {
		s.failOB(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	p := bytes.TrimSpace(it.Payload)
	if vcjwt.LooksLikeJWS(p) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		w.Write(p)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(p)
}

// readOBBody reads a capped body, answering in the OB API's shape.
func readOBBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeIMSX(w, http.StatusRequestEntityTooLarge, "invalid_data", fmt.Sprintf("the body is larger than %d bytes", max))
			return nil, false
		}
		writeIMSX(w, http.StatusBadRequest, "invalid_data", "the request body could not be read")
		return nil, false
	}
	return buf.Bytes(), true
}

func (s *Server) obGetProfile(w http.ResponseWriter, r *http.Request, user string) {
	p, err := s.backpack.Profile(r.Context(), user)
	if err != nil {
		s.failOB(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writePrivate(w, "application/json", http.StatusOK, p)
}

func (s *Server) obPutProfile(w http.ResponseWriter, r *http.Request, user string) {
	body, ok := readOBBody(w, r, backpack.MaxProfile)
	if !ok {
		return
	}
	p, err := s.backpack.PutProfile(r.Context(), user, body)
	if err != nil {
		s.failOB(w, r, err)
		return
	}
	writePrivate(w, "application/json", http.StatusOK, p)
}
