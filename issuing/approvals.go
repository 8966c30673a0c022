package issuing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Pending award states.
const (
	PendingWaiting  = "pending"
	PendingApproved = "approved"
	PendingRejected = "rejected"
)

// Errors of the second-assessor queue.
var (
	// ErrAlreadyDecided: the award was approved or rejected meanwhile.
	ErrAlreadyDecided = errors.New("already decided")
	// ErrSameAssessor: the proposer may not approve or reject their own award.
	ErrSameAssessor = errors.New("the second assessor must be someone else than the proposer")
)

// PendingAward is an award that waits for a second assessor: nothing is
// signed or issued until another trainer or admin of the issuer approves
// it.
type PendingAward struct {
	ID                 string
	Issuer             string
	AchievementID      string
	AchievementVersion int
	Request            AwardRequest
	// ProposedBy is the actor for the audit log; Proposer the identity of
	// the person behind it (a token counts as the user who made it), which
	// the approver must differ from.
	ProposedBy  string
	Proposer    string
	State       string
	DecidedBy   string
	Reason      string
	Credentials []string // uuids, once approved
	CreatedAt   time.Time
	DecidedAt   time.Time
}

// ApprovalStore is the storage of the second-assessor queue.
type ApprovalStore interface {
	CreatePendingAward(ctx context.Context, p PendingAward, a AuditEntry) error
	PendingAward(ctx context.Context, id string) (*PendingAward, error)
	// PendingAwards lists an issuer's awards in a state ("" for all),
	// oldest first.
	PendingAwards(ctx context.Context, issuer, state string) ([]PendingAward, error)
	// DecidePendingAward moves a waiting award to approved (with its
	// credentials, stored in the same transaction) or rejected;
	// ErrAlreadyDecided when it no longer waits, and then nothing is
	// written.
	DecidePendingAward(ctx context.Context, p PendingAward, creds []Credential, audit []AuditEntry) error
}

// Propose queues a prepared award for a second assessor. proposer is the
// identity the approver must differ from.
func (s *Service) Propose(ctx context.Context, actor, proposer string, p *Prepared) (*PendingAward, error) {
	if proposer == "" {
		return nil, fmt.Errorf("propose: no proposer")
	}
	if s.IsBulk(p) {
		return nil, inputErr("recipients", "an award that needs a second assessor has at most %d recipients", s.syncLimit)
	}
	pa := PendingAward{ID: newUUID(), Issuer: p.Issuer, AchievementID: p.AchievementID, AchievementVersion: p.AchievementVersion,
		Request: p.Request, ProposedBy: actor, Proposer: proposer, State: PendingWaiting, CreatedAt: s.now()}
	if err := s.store.CreatePendingAward(ctx, pa, AuditEntry{At: s.now(), Actor: actor, Action: "award.propose", Issuer: p.Issuer,
		Target: "pending:" + pa.ID, Detail: fmt.Sprintf("achievement %s v%d, %d recipients", p.AchievementID, p.AchievementVersion, len(p.Request.Recipients))}); err != nil {
		return nil, fmt.Errorf("propose: %w", err)
	}
	return &pa, nil
}

// PendingAward returns one queued award.
func (s *Service) PendingAward(ctx context.Context, id string) (*PendingAward, error) {
	if !IsUUID(id) {
		return nil, fmt.Errorf("pending award %q: %w", id, ErrNotFound)
	}
	return s.store.PendingAward(ctx, id)
}

// PendingAwards lists an issuer's queued awards in state ("" for all).
func (s *Service) PendingAwards(ctx context.Context, issuer, state string) ([]PendingAward, error) {
	return s.store.PendingAwards(ctx, issuer, state)
}

func (s *Service) checkDecision(ctx context.Context, id, approver string) (*PendingAward, error) {
	pa, err := s.PendingAward(ctx, id)
	if err != nil {
		return nil, err
	}
	if pa.State != PendingWaiting {
		return nil, fmt.Errorf("pending award %s is %s: %w", id, pa.State, ErrAlreadyDecided)
	}
	if approver == "" || approver == pa.Proposer {
		return nil, ErrSameAssessor
	}
	return pa, nil
}

// ApproveAward issues a queued award: the credentials and the decision are
// stored together, so an award is issued once however many assessors
// approve it at the same moment.
func (s *Service) ApproveAward(ctx context.Context, actor, approver, id string) (*PendingAward, []Credential, error) {
	pa, err := s.checkDecision(ctx, id, approver)
	if err != nil {
		return nil, nil, err
	}
	p := &Prepared{Issuer: pa.Issuer, AchievementID: pa.AchievementID, AchievementVersion: pa.AchievementVersion, Request: pa.Request}
	creds, err := s.issue(ctx, actor, p, func(creds []Credential, audit []AuditEntry) error {
		pa.State, pa.DecidedBy, pa.DecidedAt = PendingApproved, actor, s.now()
		pa.Credentials = pa.Credentials[:0]
		for _, c := range creds {
			pa.Credentials = append(pa.Credentials, c.ID)
		}
		audit = append(audit, AuditEntry{At: s.now(), Actor: actor, Action: "award.approve", Issuer: pa.Issuer, Target: "pending:" + pa.ID,
			Detail: "proposed by " + pa.ProposedBy})
		return s.store.DecidePendingAward(ctx, *pa, creds, audit)
	})
	if err != nil {
		return nil, nil, err
	}
	return pa, creds, nil
}

// RejectAward refuses a queued award; nothing is issued.
func (s *Service) RejectAward(ctx context.Context, actor, approver, id, reason string) (*PendingAward, error) {
	pa, err := s.checkDecision(ctx, id, approver)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 2000 {
		return nil, inputErr("reason", "is longer than 2000 characters")
	}
	pa.State, pa.DecidedBy, pa.DecidedAt, pa.Reason = PendingRejected, actor, s.now(), reason
	if err := s.store.DecidePendingAward(ctx, *pa, nil, []AuditEntry{{At: s.now(), Actor: actor, Action: "award.reject", Issuer: pa.Issuer,
		Target: "pending:" + pa.ID, Detail: reason}}); err != nil {
		return nil, err
	}
	return pa, nil
}
