// Package api is Insigne's HTTP interface. It is the only package that
// knows HTTP: it decodes requests, calls the domain packages and writes
// their answers.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/insigne/insigne/badges"
)

// Verifier verifies a credential in any supported container.
type Verifier interface {
	Verify(ctx context.Context, input []byte, opts badges.Options) (*badges.Report, error)
}

// Server holds what the handlers need.
type Server struct {
	verifier Verifier
	log      *slog.Logger
}

// New returns the HTTP handler of the service.
func New(v Verifier, log *slog.Logger) http.Handler {
	s := &Server{verifier: v, log: log}
	r := mux.NewRouter()
	r.HandleFunc("/healthz", s.health).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.health).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/verify", s.verify).Methods(http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such resource: "+r.URL.Path, "")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path, "")
	})
	return r
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// verify answers POST /api/v1/verify: the body is a credential (JSON,
// compact JWS, baked PNG or SVG); the answer is the verification report.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, badges.MaxInputSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the body is larger than 16 MiB", "")
			return
		}
		writeError(w, http.StatusBadRequest, "bad_body", "the request body could not be read", "")
		return
	}
	report, err := s.verifier.Verify(r.Context(), body, badges.Options{})
	if errors.Is(err, badges.ErrUnusableInput) {
		writeError(w, http.StatusBadRequest, "unusable_input", err.Error(), "")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "verify", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "verification failed unexpectedly", "")
		return
	}
	writeJSON(w, http.StatusOK, report)
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, map[string]apiError{"error": {Code: code, Message: msg, Field: field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
