package api

import (
	"github.com/gorilla/mux"

	"github.com/insigne/insigne/completion"
)

// failedShown is how many failed awards the rules page lists; the API
// pages through all of them.
const failedShown = 50

type failedAwardView struct{ ID, Learner, Achievement, Activity, Error, Decided string }

// failedAwards lists the issuer's failed completion awards for the rules
// page, and how many there are; names maps achievement ids to names.
func (s *Server) failedAwards(ir *issuerReq, names map[string]string) ([]failedAwardView, int, error) {
	ds, total, err := s.completions.IssuerAwards(ir.r.Context(), ir.issuer.Slug, completion.AwardFailed, failedShown, 0)
	if err != nil {
		return nil, 0, err
	}
	var out []failedAwardView
	for _, d := range ds {
		name := names[d.AchievementID]
		if name == "" {
			name = s.iss.AchievementURL(d.AchievementID)
		}
		out = append(out, failedAwardView{ID: d.CredentialID, Learner: d.Learner, Achievement: name, Activity: d.Activity,
			Error: d.Error, Decided: formatDate(ir.lang, d.CreatedAt)})
	}
	return out, total, nil
}

// failedAwardRetry tries a failed award again from the rules page.
func (s *Server) failedAwardRetry(ir *issuerReq) {
	d, err := s.completions.RetryAward(ir.r.Context(), actor(ir.p), ir.issuer.Slug, mux.Vars(ir.r)["id"])
	if err != nil {
		s.rulesFail(ir, err)
		return
	}
	done := "award.retried"
	if d.State != completion.AwardIssued {
		done = "award.retry.failed"
	}
	redirectDone(ir, "/rules", done)
}
