package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges/vcjwt"
)

// backpackRoutes serves the signed-in learner's backpack under
// /api/v1/backpack, and the public pages of share links and e-mail
// verification.
func (s *Server) backpackRoutes(r *mux.Router) {
	r.HandleFunc("/api/v1/backpack/credentials", s.learner(s.listBackpack)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/credentials", s.learner(s.importCredential)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/credentials/{id}", s.learner(s.getHolding)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/credentials/{id}", s.learner(s.deleteHolding)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/backpack/credentials/{id}/export", s.learner(s.exportHolding)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/credentials/{id}/verify", s.learner(s.reverifyHolding)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/emails", s.learner(s.listEmails)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/emails", s.learner(s.addEmail)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/emails/{email}", s.learner(s.removeEmail)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/backpack/collections", s.learner(s.listCollections)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/collections", s.learner(s.createCollection)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/collections/{id}", s.learner(s.getCollection)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/collections/{id}", s.learner(s.updateCollection)).Methods(http.MethodPut)
	r.HandleFunc("/api/v1/backpack/collections/{id}", s.learner(s.deleteCollection)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/backpack/shares", s.learner(s.listShares)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/shares", s.learner(s.createShare)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/shares/{id}", s.learner(s.revokeShare)).Methods(http.MethodDelete)
	r.HandleFunc("/api/v1/backpack/clr", s.learner(s.clr)).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/backpack/export", s.learner(s.personalData)).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/backpack/erase", s.learner(s.erase)).Methods(http.MethodPost)
	r.HandleFunc("/s/{id}", s.sharePage).Methods(http.MethodGet)
	r.HandleFunc("/backpack/verify-email", s.verifyEmailPage).Methods(http.MethodGet)
	s.obResourceRoutes(r)
}

// learner wraps a handler for the signed-in learner's own backpack: a
// browser session of a user. API tokens act for an issuer, not a person,
// and cannot open a backpack.
func (s *Server) learner(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if p.Kind != auth.KindUser || p.UserID == "" {
			writeError(w, http.StatusForbidden, "forbidden", "a backpack belongs to a signed-in learner; API tokens and the admin token cannot open it", "")
			return
		}
		h(w, r, p.UserID)
	})
}

// failBackpack maps the backpack's errors, then the common ones.
func (s *Server) failBackpack(w http.ResponseWriter, r *http.Request, err error) {
	var in *backpack.InputError
	switch {
	case errors.As(err, &in) && errors.Is(err, backpack.ErrNotCredential):
		writeError(w, http.StatusUnprocessableEntity, "not_a_credential", in.Error(), in.Field)
	case errors.As(err, &in) && errors.Is(err, backpack.ErrTooMany):
		writeError(w, http.StatusConflict, "quota_exceeded", in.Error(), "")
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, "invalid", in.Error(), in.Field)
	case errors.Is(err, backpack.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, backpack.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), "")
	default:
		s.fail(w, r, err)
	}
}

type holdingJSON struct {
	ID           string          `json:"id"`
	Kind         string          `json:"kind"`
	CredentialID string          `json:"credentialId,omitempty"`
	Name         string          `json:"name"`
	IssuerID     string          `json:"issuerId,omitempty"`
	IssuerName   string          `json:"issuerName,omitempty"`
	Format       string          `json:"format,omitempty"`
	SourceURL    string          `json:"sourceUrl,omitempty"`
	Verdict      string          `json:"verdict"`
	Status       string          `json:"status,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
	VerifiedAt   *time.Time      `json:"verifiedAt,omitempty"`
	Credential   json.RawMessage `json:"credential,omitempty"`
	CompactJWS   string          `json:"compactJws,omitempty"`
	Report       json.RawMessage `json:"report,omitempty"`
}

func toHoldingJSON(it *backpack.Item) holdingJSON {
	h := holdingJSON{ID: it.ID, Kind: it.Kind, CredentialID: it.CredentialID, Name: it.Name, IssuerID: it.IssuerID, IssuerName: it.IssuerName,
		Format: it.Format, SourceURL: it.SourceURL, Verdict: it.Verdict, Status: it.Status, CreatedAt: it.CreatedAt, Report: it.Report}
	if !it.VerifiedAt.IsZero() {
		v := it.VerifiedAt
		h.VerifiedAt = &v
	}
	p := bytes.TrimSpace(it.Payload)
	switch {
	case len(p) > 0 && p[0] == '{' && json.Valid(p):
		h.Credential = p
	case vcjwt.LooksLikeJWS(p):
		h.CompactJWS = string(p)
	}
	return h
}

// pageParams reads limit and offset, answering 400 itself.
func pageParams(w http.ResponseWriter, r *http.Request, def int) (limit, offset int, ok bool) {
	limit, offset = def, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > backpack.MaxPage {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be a whole number from 1 to 100", "limit")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid", "offset must be a whole number, 0 or more", "offset")
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func (s *Server) listBackpack(w http.ResponseWriter, r *http.Request, user string) {
	limit, offset, ok := pageParams(w, r, 50)
	if !ok {
		return
	}
	items, total, err := s.backpack.List(r.Context(), user, backpack.Query{Limit: limit, Offset: offset})
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	out := make([]holdingJSON, 0, len(items))
	for i := range items {
		out = append(out, toHoldingJSON(&items[i]))
	}
	// A struct rather than a map: the listing is the backpack's hottest
	// answer, and encoding/json sorts a map's keys by reflection on every
	// call. Same keys, same order as before.
	writeJSON(w, http.StatusOK, struct {
		Credentials []holdingJSON `json:"credentials"`
		Limit       int           `json:"limit"`
		Offset      int           `json:"offset"`
		Total       int           `json:"total"`
	}{out, limit, offset, total})
}

// importCredential takes the credential as the body, whatever its form:
// OB 3.0 JSON, a compact JWS, a baked PNG or SVG, an OB 2.0 assertion, or
// a URL (text/plain).
func (s *Server) importCredential(w http.ResponseWriter, r *http.Request, user string) {
	body, ok := readBody(w, r, backpack.MaxImport)
	if !ok {
		return
	}
	it, err := s.backpack.Import(r.Context(), user, body)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toHoldingJSON(it))
}

func (s *Server) getHolding(w http.ResponseWriter, r *http.Request, user string) {
	it, err := s.backpack.Get(r.Context(), user, mux.Vars(r)["id"])
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toHoldingJSON(it))
}

func (s *Server) deleteHolding(w http.ResponseWriter, r *http.Request, user string) {
	if err := s.backpack.Delete(r.Context(), user, mux.Vars(r)["id"]); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) exportHolding(w http.ResponseWriter, r *http.Request, user string) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = backpack.ExportJSON
	}
	id := mux.Vars(r)["id"]
	b, mt, err := s.backpack.Export(r.Context(), user, id, format)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	ext := map[string]string{"json": "json", "jwt": "jwt", "png": "png", "svg": "svg"}[format]
	w.Header().Set("Content-Disposition", `attachment; filename="badge-`+safeName(id)+`.`+ext+`"`)
	if format == backpack.ExportSVG {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	writePrivate(w, mt, http.StatusOK, b)
}

// safeName keeps a file name to plain characters.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func (s *Server) reverifyHolding(w http.ResponseWriter, r *http.Request, user string) {
	it, err := s.backpack.Verify(r.Context(), user, mux.Vars(r)["id"])
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toHoldingJSON(it))
}

type emailJSON struct {
	Email      string     `json:"email"`
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
}

func (s *Server) listEmails(w http.ResponseWriter, r *http.Request, user string) {
	es, err := s.backpack.Emails(r.Context(), user)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	out := []emailJSON{}
	for _, e := range es {
		j := emailJSON{Email: e.Email, Verified: !e.VerifiedAt.IsZero(), CreatedAt: e.CreatedAt}
		if j.Verified {
			v := e.VerifiedAt
			j.VerifiedAt = &v
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"emails": out})
}

// EmailInput adds an address to a backpack.
type EmailInput struct {
	Email string `json:"email"`
}

func (s *Server) addEmail(w http.ResponseWriter, r *http.Request, user string) {
	var in EmailInput
	if !decode(w, r, &in) {
		return
	}
	if _, err := s.backpack.AddEmail(r.Context(), user, in.Email); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	// The link goes to the address only: whoever asks must read that mailbox.
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "a verification link was sent to the address"})
}

func (s *Server) removeEmail(w http.ResponseWriter, r *http.Request, user string) {
	if err := s.backpack.RemoveEmail(r.Context(), user, mux.Vars(r)["email"]); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// CollectionInput creates or replaces a collection.
type CollectionInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Items       []string `json:"items,omitempty"`
}

type collectionJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Items       []string  `json:"items"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func toCollectionJSON(c *backpack.Collection) collectionJSON {
	items := c.Items
	if items == nil {
		items = []string{}
	}
	return collectionJSON{ID: c.ID, Name: c.Name, Description: c.Description, Items: items, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request, user string) {
	cs, err := s.backpack.Collections(r.Context(), user)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	out := []collectionJSON{}
	for i := range cs {
		out = append(out, toCollectionJSON(&cs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"collections": out})
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request, user string) {
	var in CollectionInput
	if !decode(w, r, &in) {
		return
	}
	c, err := s.backpack.CreateCollection(r.Context(), user, backpack.CollectionInput(in))
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toCollectionJSON(c))
}

func (s *Server) getCollection(w http.ResponseWriter, r *http.Request, user string) {
	c, err := s.backpack.Collection(r.Context(), user, mux.Vars(r)["id"])
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCollectionJSON(c))
}

func (s *Server) updateCollection(w http.ResponseWriter, r *http.Request, user string) {
	var in CollectionInput
	if !decode(w, r, &in) {
		return
	}
	c, err := s.backpack.UpdateCollection(r.Context(), user, mux.Vars(r)["id"], backpack.CollectionInput(in))
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCollectionJSON(c))
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, user string) {
	if err := s.backpack.DeleteCollection(r.Context(), user, mux.Vars(r)["id"]); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ShareInput makes a share link.
type ShareInput struct {
	Kind      string     `json:"kind"`
	ID        string     `json:"id"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

type shareJSON struct {
	ID        string     `json:"id"`
	URL       string     `json:"url"`
	Kind      string     `json:"kind"`
	Target    string     `json:"targetId"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	Views     int64      `json:"views"`
	CreatedAt time.Time  `json:"createdAt"`
	Embed     string     `json:"embed"`
	LinkedIn  string     `json:"linkedInUrl,omitempty"`
}

func (s *Server) toShareJSON(r *http.Request, user string, sh *backpack.Share) shareJSON {
	u := s.backpack.ShareURL(sh.ID)
	j := shareJSON{ID: sh.ID, URL: u, Kind: sh.TargetKind, Target: sh.TargetID, Views: sh.Views, CreatedAt: sh.CreatedAt}
	if !sh.ExpiresAt.IsZero() {
		t := sh.ExpiresAt
		j.ExpiresAt = &t
	}
	if !sh.RevokedAt.IsZero() {
		t := sh.RevokedAt
		j.RevokedAt = &t
	}
	name := "collection"
	if sh.TargetKind == backpack.ShareCredential {
		if it, err := s.backpack.Get(r.Context(), user, sh.TargetID); err == nil {
			name = it.Name
			j.LinkedIn = backpack.LinkedInURL(*it, u)
		}
	} else if c, err := s.backpack.Collection(r.Context(), user, sh.TargetID); err == nil {
		name = c.Name
	}
	j.Embed = backpack.EmbedSnippet(u, name)
	return j
}

func (s *Server) listShares(w http.ResponseWriter, r *http.Request, user string) {
	shares, err := s.backpack.Shares(r.Context(), user)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	out := []shareJSON{}
	for i := range shares {
		out = append(out, s.toShareJSON(r, user, &shares[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"shares": out})
}

func (s *Server) createShare(w http.ResponseWriter, r *http.Request, user string) {
	var in ShareInput
	if !decode(w, r, &in) {
		return
	}
	var exp time.Time
	if in.ExpiresAt != nil {
		exp = *in.ExpiresAt
	}
	sh, err := s.backpack.CreateShare(r.Context(), user, in.Kind, in.ID, exp)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.toShareJSON(r, user, sh))
}

func (s *Server) revokeShare(w http.ResponseWriter, r *http.Request, user string) {
	if err := s.backpack.RevokeShare(r.Context(), user, mux.Vars(r)["id"]); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// CLRInput selects the credentials of a CLR; none means the whole record.
type CLRInput struct {
	Credentials []string `json:"credentials,omitempty"`
}

func (s *Server) clr(w http.ResponseWriter, r *http.Request, user string) {
	var in CLRInput
	if r.ContentLength != 0 {
		if !decode(w, r, &in) {
			return
		}
	}
	b, err := s.backpack.CLR(r.Context(), user, in.Credentials)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	writePrivate(w, "application/vc+ld+json", http.StatusOK, b)
}

func (s *Server) personalData(w http.ResponseWriter, r *http.Request, user string) {
	b, err := s.backpack.PersonalData(r.Context(), user)
	if err != nil {
		s.failBackpack(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="insigne-donnees-personnelles.zip"`)
	writePrivate(w, "application/zip", http.StatusOK, b)
}

// EraseInput confirms an erasure request.
type EraseInput struct {
	Confirm bool `json:"confirm"`
}

func (s *Server) erase(w http.ResponseWriter, r *http.Request, user string) {
	var in EraseInput
	if !decode(w, r, &in) {
		return
	}
	if !in.Confirm {
		writeError(w, http.StatusBadRequest, "invalid", "send {\"confirm\": true} to erase your personal data; this cannot be undone", "confirm")
		return
	}
	if err := s.backpack.Erase(r.Context(), user); err != nil {
		s.failBackpack(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

// writePrivate answers a learner's own document: never cached by shared
// caches, never readable by other origins.
func writePrivate(w http.ResponseWriter, contentType string, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	w.Write(body)
}
