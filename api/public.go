package api

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/issuing"
)

// publicRoutes are what anyone may read: the documents that make issued
// credentials verifiable, and the credentials themselves.
func (s *Server) publicRoutes(r *mux.Router) {
	r.HandleFunc("/issuers/{slug}", s.issuerProfile).Methods(http.MethodGet)
	r.HandleFunc("/issuers/{slug}/did.json", s.issuerDID).Methods(http.MethodGet)
	r.HandleFunc("/issuers/{slug}/keys/{kid}", s.issuerKey).Methods(http.MethodGet)
	r.HandleFunc("/.well-known/jwks.json", s.jwks).Methods(http.MethodGet)
	r.HandleFunc("/achievements/{id}", s.achievementDoc).Methods(http.MethodGet)
	r.HandleFunc("/credentials/{id}", s.credentialPage).Methods(http.MethodGet)
	r.HandleFunc("/credentials/{id}/badge.{format:png|svg}", s.credentialImage).Methods(http.MethodGet)
	r.HandleFunc("/status/{slug}/{n:[0-9]+}", s.statusList).Methods(http.MethodGet)
	r.HandleFunc("/evidence/{sha:[0-9a-f]{64}}", s.evidence).Methods(http.MethodGet)
}

func writeDoc(w http.ResponseWriter, contentType string, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) issuerProfile(w http.ResponseWriter, r *http.Request) {
	doc, err := s.iss.ProfileDocument(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeDoc(w, "application/json", http.StatusOK, b)
}

func (s *Server) issuerDID(w http.ResponseWriter, r *http.Request) {
	doc, err := s.iss.DIDDocument(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, _ := json.Marshal(doc)
	writeDoc(w, "application/did+json", http.StatusOK, b)
}

func (s *Server) issuerKey(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	b, err := s.iss.KeyJWK(r.Context(), v["slug"], v["kid"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeDoc(w, "application/jwk+json", http.StatusOK, b)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	b, err := s.iss.JWKS(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeDoc(w, "application/jwk-set+json", http.StatusOK, b)
}

func (s *Server) achievementDoc(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if !issuing.IsUUID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no achievement "+id, "")
		return
	}
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid", "version must be a positive integer", "version")
			return
		}
		version = n
	}
	doc, err := s.iss.AchievementDocument(r.Context(), id, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b, _ := json.Marshal(doc)
	writeDoc(w, "application/json", http.StatusOK, b)
}

// negotiate picks what to answer for a credential from the Accept header:
// the VC-JWT, the signed JSON-LD, or the HTML page. Clients that do not say
// get JSON; browsers ask for HTML first.
func negotiate(accept string) string {
	best, bestQ := "json", -1.0
	for i, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		q -= float64(i) * 1e-6 // earlier wins among equals
		var kind string
		switch mt {
		case "application/vc+jwt", "application/jwt":
			kind = "jwt"
		case "application/vc+ld+json", "application/vc", "application/ld+json", "application/json":
			kind = "json"
		case "text/html", "application/xhtml+xml":
			kind = "html"
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = kind, q
		}
	}
	return best
}

func (s *Server) credentialPage(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	c, err := s.iss.Credential(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept")
	switch negotiate(r.Header.Get("Accept")) {
	case "jwt":
		tok, err := s.iss.JWT(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeDoc(w, "application/vc+jwt", http.StatusOK, []byte(tok))
	case "html":
		s.credentialHTML(w, r, c)
	default:
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeDoc(w, "application/vc+ld+json", http.StatusOK, c.Signed)
	}
}

func (s *Server) credentialImage(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	b, err := s.iss.Baked(r.Context(), v["id"], v["format"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct := "image/png"
	if v["format"] == "svg" {
		ct = "image/svg+xml"
		// A baked SVG is served as an image, never as a document that
		// could run script.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="badge-%s.%s"`, v["id"], v["format"]))
	writeDoc(w, ct, http.StatusOK, b)
}

// statusList serves a signed status list. Verifiers must see a revocation
// as soon as they fetch again, so caches revalidate every time (no-cache)
// and the ETag makes that revalidation cheap.
func (s *Server) statusList(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	n, err := strconv.Atoi(v["n"])
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such status list", "")
		return
	}
	b, version, err := s.iss.StatusListCredential(r.Context(), v["slug"], n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	etag := fmt.Sprintf(`"%s-%d-%d"`, v["slug"], n, version)
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "public, no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeDoc(w, "application/vc+ld+json", http.StatusOK, b)
}

// evidence serves an uploaded file so that it can never act as a page of
// this site: sandboxed, not sniffed, and downloaded unless it is an image
// or a PDF.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request) {
	b, rc, err := s.iss.Evidence(r.Context(), mux.Vars(r)["sha"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	disposition := "attachment"
	switch b.MediaType {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf":
		disposition = "inline"
	}
	name := b.Name
	if name == "" {
		name = b.SHA256
	}
	h := w.Header()
	h.Set("Content-Type", b.MediaType)
	h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	io.Copy(w, rc)
}
