package completion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/insigne/insigne/issuing"
)

// awardChunk is how many awards of one achievement are signed and stored
// together: the issuing service signs them from one template, in
// parallel, and commits them in one transaction.
const awardChunk = 500

// claimBatch is how many pending awards a worker claims at once: one
// chunk, so that signing starts at once and few awards wait under a
// lease.
const claimBatch = awardChunk

// maxAttempts is when the worker gives up on an award that keeps failing
// for reasons other than its input (the database, a key): it is marked
// failed with the last reason, for an administrator to look at.
const maxAttempts = 10

// RunAwards issues pending awards until ctx ends: those Record left to
// it, and those a crashed node decided and did not issue. Several nodes
// may run it; each award is leased to one at a time and its credential id
// was fixed when it was decided, so none is issued twice.
func (s *Service) RunAwards(ctx context.Context) {
	for {
		if _, err := s.IssuePending(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "completion awards", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(2 * time.Second):
		}
	}
}

// IssuePending issues the pending awards that can be claimed now and
// returns how many credentials it issued: for the worker, tools and tests.
func (s *Service) IssuePending(ctx context.Context) (int, error) {
	issued, err := s.pipeline(ctx, func() ([]Award, error) {
		return s.store.ClaimAwards(ctx, nil, claimBatch, s.now(), s.now().Add(s.lease))
	})
	return len(issued), err
}

// issue issues claimed awards and returns the ids of the credentials
// issued.
func (s *Service) issue(ctx context.Context, claimed []Award) ([]string, error) {
	done := false
	return s.pipeline(ctx, func() ([]Award, error) {
		if done {
			return nil, nil
		}
		done = true
		return claimed, nil
	})
}

// chunk is awards of one achievement, prepared and then signed when
// nothing stands in the way (nil: the careful path, issueChunk, decides).
type chunk struct {
	part     []Award
	prepared *issuing.Prepared
	signed   *issuing.Signed
}

// pipeline issues the awards that next hands out until it hands out none,
// in three stages as a bulk job runs: the next chunk is claimed and
// prepared (database) while one is signed (every core) and the one
// before is stored (database), so that neither the processors nor the
// database wait for the other.
func (s *Service) pipeline(ctx context.Context, next func() ([]Award, error)) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepared := make(chan chunk, 1)
	signed := make(chan chunk, 1)
	var claimErr error
	go func() {
		defer close(prepared)
		for {
			claimed, err := next()
			if err == nil && len(claimed) == 0 {
				return
			}
			var parts [][]Award
			if err == nil {
				parts, err = s.split(ctx, claimed)
			}
			if err != nil {
				claimErr = err
				return
			}
			for _, part := range parts {
				select {
				case prepared <- chunk{part: part, prepared: s.prepare(ctx, part)}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		defer close(signed)
		for c := range prepared {
			if c.prepared != nil {
				// An error leaves the chunk to the careful path.
				c.signed, _ = s.iss.Sign(ctx, actor, c.prepared)
			}
			select {
			case signed <- c:
			case <-ctx.Done():
			}
		}
	}()
	var issued []string
	var first error
	for c := range signed {
		if first != nil {
			continue // claimed and left: their lease runs out, another pass takes them
		}
		ids, err := s.commit(ctx, c)
		issued = append(issued, ids...)
		if err != nil {
			first = err
			cancel()
		}
	}
	if first == nil {
		first = claimErr // written before prepared, then signed, was closed
	}
	return issued, first
}

// split groups claimed awards by achievement in chunks of at most
// awardChunk, and fails those that were tried too often.
func (s *Service) split(ctx context.Context, claimed []Award) ([][]Award, error) {
	var chunks [][]Award
	var given []string
	for start := 0; start < len(claimed); {
		end := start
		for end < len(claimed) && end-start < awardChunk && claimed[end].AchievementID == claimed[start].AchievementID {
			end++
		}
		var part []Award
		for _, a := range claimed[start:end] {
			if a.Attempts >= maxAttempts {
				given = append(given, a.CredentialID)
				continue
			}
			part = append(part, a)
		}
		if len(part) > 0 {
			chunks = append(chunks, part)
		}
		start = end
	}
	if len(given) > 0 {
		if err := s.store.FinishAwards(ctx, given, AwardFailed, fmt.Sprintf("gave up after %d attempts", maxAttempts), s.now()); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

// prepare readies a chunk for signing, or returns nil when anything is
// out of the ordinary (a credential already there, an input error, the
// database): issueChunk then takes the chunk through the careful path.
func (s *Service) prepare(ctx context.Context, part []Award) *issuing.Prepared {
	ids := make([]string, len(part))
	for i, a := range part {
		ids[i] = a.CredentialID
	}
	if exist, err := s.store.ExistingCredentials(ctx, ids); err != nil || len(exist) > 0 {
		return nil
	}
	p, err := s.iss.Prepare(ctx, request(part))
	if err != nil || p.NeedsApproval {
		return nil
	}
	return p
}

// commit stores a signed chunk and notes its awards issued; a chunk that
// could not be signed, or stored, goes through the careful path.
func (s *Service) commit(ctx context.Context, c chunk) ([]string, error) {
	if c.signed != nil {
		creds, err := s.iss.StoreWith(ctx, c.signed, func(creds []issuing.Credential, audit []issuing.AuditEntry) error {
			return s.store.IssueAwards(ctx, creds, audit, s.now())
		})
		if err == nil {
			ids := make([]string, len(creds))
			for i, c := range creds {
				ids[i] = c.ID
			}
			return ids, nil
		}
	}
	return s.issueChunk(ctx, c.part)
}

// issueChunk issues awards of one achievement. An award whose credential
// already exists (its node crashed after issuing, before noting it) is
// only noted. An input error fails the award it belongs to, found by
// issuing the awards of the chunk one by one.
func (s *Service) issueChunk(ctx context.Context, part []Award) ([]string, error) {
	ids := make([]string, len(part))
	for i, a := range part {
		ids[i] = a.CredentialID
	}
	for attempt := 0; ; attempt++ {
		exist, err := s.store.ExistingCredentials(ctx, ids)
		if err != nil {
			return nil, err
		}
		var done []string
		if len(exist) > 0 {
			if err := s.store.FinishAwards(ctx, exist, AwardIssued, "", s.now()); err != nil {
				return nil, err
			}
			done = exist
			part, ids = without(part, exist)
			if len(part) == 0 {
				return done, nil
			}
		}
		err = s.award(ctx, part)
		var in *issuing.InputError
		switch {
		case err == nil:
			if err := s.store.FinishAwards(ctx, ids, AwardIssued, "", s.now()); err != nil {
				return done, err
			}
			return append(done, ids...), nil
		case errors.Is(err, issuing.ErrConflict) && attempt == 0:
			continue // another node issued some meanwhile: note them, issue the rest
		case errors.As(err, &in) || errors.Is(err, issuing.ErrNotFound):
			if len(part) == 1 {
				s.log.WarnContext(ctx, "completion award failed", "learner", part[0].Learner, "achievement", part[0].AchievementID, "err", err)
				return done, s.store.FinishAwards(ctx, ids, AwardFailed, err.Error(), s.now())
			}
			for _, a := range part {
				got, err := s.issueChunk(ctx, []Award{a})
				done = append(done, got...)
				if err != nil {
					return done, err
				}
			}
			return done, nil
		default:
			if rerr := s.store.ReleaseAwards(ctx, ids, err.Error()); rerr != nil {
				s.log.ErrorContext(ctx, "release awards", "err", rerr)
			}
			return done, fmt.Errorf("issue completion awards: %w", err)
		}
	}
}

func without(part []Award, ids []string) ([]Award, []string) {
	drop := map[string]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	var out []Award
	var left []string
	for _, a := range part {
		if !drop[a.CredentialID] {
			out = append(out, a)
			left = append(left, a.CredentialID)
		}
	}
	return out, left
}

// award signs and stores the credentials of awards of one achievement.
func (s *Service) award(ctx context.Context, part []Award) error {
	p, err := s.iss.Prepare(ctx, request(part))
	if err != nil {
		return err
	}
	_, err = s.iss.Award(ctx, actor, p)
	return err
}

// request is the award request for awards of one achievement.
func request(part []Award) issuing.AwardRequest {
	rs := make([]issuing.RecipientInput, len(part))
	for i, a := range part {
		rs[i] = issuing.RecipientInput{Email: a.Learner, Name: a.Name, Evidence: a.Evidence, CredentialID: a.CredentialID}
	}
	return issuing.AwardRequest{Achievement: part[0].AchievementID, Recipients: rs}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
