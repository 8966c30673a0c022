package completion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/insigne/insigne/issuing"
)

// awardChunk is how many awards of one achievement are signed and stored
// together: the issuing service signs them from one template, in
// parallel, and commits them in one transaction.
const awardChunk = 500

// claimBatch is how many pending awards a worker claims at once.
const claimBatch = 4 * awardChunk

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
	n := 0
	for {
		claimed, err := s.store.ClaimAwards(ctx, nil, claimBatch, s.now(), s.now().Add(s.lease))
		if err != nil || len(claimed) == 0 {
			return n, err
		}
		issued, err := s.issue(ctx, claimed)
		n += len(issued)
		if err != nil {
			return n, err
		}
	}
}

// issue issues claimed awards, grouped by achievement, and returns the ids
// of the credentials issued. Two chunks are in flight at once, so that
// one's commit overlaps the other's signing.
func (s *Service) issue(ctx context.Context, claimed []Award) ([]string, error) {
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
	var (
		mu     sync.Mutex
		issued []string
		first  error
		wg     sync.WaitGroup
		next   = make(chan []Award)
	)
	for range 2 {
		wg.Go(func() {
			for part := range next {
				ids, err := s.issueChunk(ctx, part)
				mu.Lock()
				issued = append(issued, ids...)
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, part := range chunks {
		next <- part
	}
	close(next)
	wg.Wait()
	return issued, first
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
	rs := make([]issuing.RecipientInput, len(part))
	for i, a := range part {
		rs[i] = issuing.RecipientInput{Email: a.Learner, Name: a.Name, Evidence: a.Evidence, CredentialID: a.CredentialID}
	}
	p, err := s.iss.Prepare(ctx, issuing.AwardRequest{Achievement: part[0].AchievementID, Recipients: rs})
	if err != nil {
		return err
	}
	_, err = s.iss.Award(ctx, actor, p)
	return err
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
