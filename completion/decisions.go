package completion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/insigne/insigne/issuing"
)

// Decision is an award decision as administrators read it: the award and
// the activity of the completion that decided it ("" for a parcours).
type Decision struct {
	Award
	Activity string // ActivityKey of the completion
}

// MaxDecisions caps one page of IssuerAwards.
const MaxDecisions = 1000

// AwardStates lists the states an award decision may be in.
var AwardStates = []string{AwardPending, AwardIssued, AwardFailed, AwardCancelled}

// IssuerAwards lists an issuer's award decisions in state ("" for any),
// oldest first: a page of at most limit (1 to MaxDecisions, 100 when 0)
// from offset, and how many there are in all.
func (s *Service) IssuerAwards(ctx context.Context, issuer, state string, limit, offset int) ([]Decision, int, error) {
	if state != "" && !slices.Contains(AwardStates, state) {
		return nil, 0, inputErr("state", "must be one of %s", strings.Join(AwardStates, ", "))
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > MaxDecisions {
		return nil, 0, inputErr("limit", "must be between 1 and %d", MaxDecisions)
	}
	if offset < 0 {
		return nil, 0, inputErr("offset", "must not be negative")
	}
	return s.store.IssuerAwards(ctx, issuer, state, limit, offset)
}

// IssuerAward returns one of issuer's award decisions by its credential
// id; ErrNotFound when it is unknown or another issuer's.
func (s *Service) IssuerAward(ctx context.Context, issuer, credentialID string) (*Decision, error) {
	if !issuing.IsUUID(credentialID) {
		return nil, fmt.Errorf("award %q: %w", credentialID, issuing.ErrNotFound)
	}
	d, err := s.store.Award(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	if d.Issuer != issuer {
		return nil, fmt.Errorf("award %s: %w", credentialID, issuing.ErrNotFound)
	}
	return d, nil
}

// RetryAward tries again to issue a failed award of issuer, now, and
// returns it as it stands after the attempt: issued, failed again (with
// the new reason) or, when the store could not be reached, pending for
// the worker. An award whose mapping or parcours was deleted since is
// cancelled instead, and the error (ErrConflict) says so.
func (s *Service) RetryAward(ctx context.Context, actor, issuer, credentialID string) (*Decision, error) {
	d, err := s.IssuerAward(ctx, issuer, credentialID)
	if err != nil {
		return nil, err
	}
	if d.State != AwardFailed {
		return nil, fmt.Errorf("award %s is %s: only a failed award is retried: %w", credentialID, d.State, issuing.ErrConflict)
	}
	live, err := s.ruleExists(ctx, d.Reason)
	if err != nil {
		return nil, err
	}
	if !live {
		why := ruleGone(d.Reason)
		if err := s.store.CancelAward(ctx, credentialID, why, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "completion-award.cancel",
			Issuer: issuer, Target: credentialID, Detail: why}); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("award %s: %s: %w", credentialID, why, issuing.ErrConflict)
	}
	if err := s.store.RetryAward(ctx, credentialID, issuing.AuditEntry{At: s.now(), Actor: actor, Action: "completion-award.retry",
		Issuer: issuer, Target: credentialID, Detail: "last error: " + d.Error}); err != nil {
		return nil, err
	}
	claimed, err := s.store.ClaimAwards(ctx, []string{credentialID}, 0, s.now(), s.now().Add(s.lease))
	if err == nil {
		_, err = s.issue(ctx, claimed)
	}
	if err != nil {
		// Pending again: the worker takes it up once its lease runs out.
		s.log.WarnContext(ctx, "retried completion award left to the worker", "award", credentialID, "err", err)
		s.wakeWorker()
	}
	return s.store.Award(ctx, credentialID)
}

func (s *Service) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ruleExists tells whether the mapping or parcours an award's Reason
// names still exists.
func (s *Service) ruleExists(ctx context.Context, reason string) (bool, error) {
	kind, id, _ := strings.Cut(reason, ":")
	var err error
	switch kind {
	case "mapping":
		_, err = s.store.Mapping(ctx, id)
	case "parcours":
		_, err = s.store.Parcours(ctx, id)
	default:
		return true, nil // not decided by a rule: nothing to re-check
	}
	if errors.Is(err, issuing.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ruleGone is the reason given to awards cancelled because the rule that
// decided them (an award's Reason) was deleted before they were issued.
func ruleGone(reason string) string {
	kind, id, _ := strings.Cut(reason, ":")
	return fmt.Sprintf("cancelled: %s %s was deleted before the award was issued", kind, id)
}

// RuleGone is the reason recorded on the awards cancelled when the
// mapping ("mapping") or parcours ("parcours") id is deleted.
func RuleGone(kind, id string) string { return ruleGone(kind + ":" + id) }

// liveOnly drops the awards whose mapping or parcours was deleted since
// the rules were read; the rules left cannot be deleted until the
// recording transaction ends, so no award is decided by a deleted rule.
func liveOnly(ctx context.Context, tx Tx, as []Award) ([]Award, error) {
	if len(as) == 0 {
		return as, nil
	}
	var mappings, parcours []string
	seen := map[string]bool{}
	for _, a := range as {
		if seen[a.Reason] {
			continue
		}
		seen[a.Reason] = true
		switch kind, id, _ := strings.Cut(a.Reason, ":"); kind {
		case "mapping":
			mappings = append(mappings, id)
		case "parcours":
			parcours = append(parcours, id)
		}
	}
	live, err := tx.LiveRules(ctx, mappings, parcours)
	if err != nil {
		return nil, err
	}
	out := as[:0:0]
	for _, a := range as {
		if live[a.Reason] || !strings.HasPrefix(a.Reason, "mapping:") && !strings.HasPrefix(a.Reason, "parcours:") {
			out = append(out, a)
		}
	}
	return out, nil
}
