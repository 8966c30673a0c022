package api

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/internal/jsonfield"
	"github.com/insigne/insigne/issuing"
)

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

// fail answers a domain error with the status it deserves. Anything
// unexpected is logged and answered 500 without details.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var in *issuing.InputError
	switch {
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, "invalid", in.Error(), in.Field)
	case errors.Is(err, issuing.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error(), "")
	case errors.Is(err, issuing.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error(), "")
	case errors.Is(err, issuing.ErrConflict), errors.Is(err, auth.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), "")
	case errors.Is(err, auth.ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, "unauthenticated", "authentication required", "")
	case errors.Is(err, auth.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", strings.TrimPrefix(err.Error(), "auth: forbidden: "), "")
	case errors.Is(err, auth.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", strings.TrimPrefix(err.Error(), "auth: invalid argument: "), "")
	case errors.Is(err, issuing.ErrNoSpace):
		s.log.ErrorContext(r.Context(), "storage full", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInsufficientStorage, "insufficient_storage", "the server has no room left for this file; nothing was kept, try again later", "")
	case unavailable(err):
		s.log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the database does not answer; try again in a few seconds", "")
	default:
		if r.Context().Err() != nil {
			return // the client went away
		}
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "something went wrong on our side; it has been logged", "")
	}
}

// maxJSON caps JSON request bodies; a bulk award of 100,000 recipients
// fits.
const maxJSON = 16 << 20

// readBody reads a capped body, answering 413 or 400 itself.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", max), "")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "bad_body", "the request body could not be read", "")
		return nil, false
	}
	return body, true
}

// decode reads a JSON body strictly into v: one value, no unknown field,
// the right types; errors name the field.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r, maxJSON)
	if !ok {
		return false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasSuffix(strings.SplitN(ct, ";", 2)[0], "+json") {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON (Content-Type: application/json), not "+ct, "")
		return false
	}
	if err := decodeJSON(body, v); err != nil {
		var in *issuing.InputError
		errors.As(err, &in)
		writeError(w, http.StatusBadRequest, "invalid_json", in.Error(), in.Field)
		return false
	}
	return true
}

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &issuing.InputError{Reason: "the body holds more than one JSON value"}
	}
	return nil
}

// jsonField drops the Go names of embedded structs from a field path
// (Training.hoursInPerson is hoursInPerson in the request): JSON names
// here never start with a capital.
func jsonField(path string) string {
	parts := strings.Split(path, ".")
	out := parts[:0]
	for _, p := range parts {
		if p != "" && p[0] >= 'A' && p[0] <= 'Z' {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ".")
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return &issuing.InputError{Field: jsonField(jsonfield.Path(te.Field)), Reason: fmt.Sprintf("wrong type: got a JSON %s, want %s", te.Value, goKind(te.Type.String()))}
	case errors.As(err, &se):
		return &issuing.InputError{Reason: fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))}
	case errors.Is(err, io.EOF):
		return &issuing.InputError{Reason: "the body is empty; a JSON object is expected"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &issuing.InputError{Reason: "malformed JSON: the body ends too early"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &issuing.InputError{Field: f, Reason: "unknown field " + f}
	}
	return &issuing.InputError{Reason: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

func goKind(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"), strings.HasPrefix(t, "uint"):
		return "a number"
	}
	return "an object"
}

// unavailable tells the errors of a database that is away (restarting,
// unreachable) from those of a request: connection failures, and the
// SQLSTATE classes 08 (connection exception) and 57 (operator
// intervention, e.g. a server shutting down), read through the SQLState
// method drivers' errors offer, so that api needs no driver.
func unavailable(err error) bool {
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		c := st.SQLState()
		return strings.HasPrefix(c, "08") || strings.HasPrefix(c, "57")
	}
	var op *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.As(err, &op) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET)
}
