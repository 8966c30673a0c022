package api

import (
	"errors"
	"net/http"

	"github.com/insigne/insigne/badges"
)

// verify answers POST /api/v1/verify: the body is a credential (JSON,
// compact JWS, baked PNG or SVG, attestation PDF); the answer is the
// verification report, with the attestation's verdict when there is one.
// It is public: HR and scripts verify without an account.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, badges.MaxInputSize)
	if !ok {
		return
	}
	if s.att != nil {
		s.verifyAttestation(w, r, body)
		return
	}
	report, err := s.verifier.Verify(r.Context(), body, badges.Options{})
	if errors.Is(err, badges.ErrUnusableInput) {
		writeError(w, http.StatusBadRequest, "unusable_input", err.Error(), "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}
