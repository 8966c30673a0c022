package issuing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// chunkSize is how many rows of a job are signed and committed together:
// the unit of progress and of work lost to a crash.
const chunkSize = 500

// defaultLease is how long a claimed job is held without news from its
// worker; after that another worker (or this one after a restart) takes it
// over. A chunk takes well under a second, so the lease is renewed often.
const defaultLease = 15 * time.Second

// StartJob stores a bulk award as a queued job and wakes the worker.
func (s *Service) StartJob(ctx context.Context, actor string, p *Prepared) (*Job, error) {
	if p.NeedsApproval {
		return nil, errNeedsApproval()
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	j := Job{ID: newUUID(), Issuer: p.Issuer, State: JobQueued, Total: len(p.Request.Recipients), Payload: payload,
		CreatedBy: actor, CreatedAt: s.now()}
	if err := s.store.CreateJob(ctx, j, AuditEntry{At: s.now(), Actor: actor, Action: "job.create", Issuer: p.Issuer, Target: j.ID,
		Detail: fmt.Sprintf("%d recipients of %s", j.Total, s.AchievementURL(p.AchievementID))}); err != nil {
		return nil, fmt.Errorf("start job: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return &j, nil
}

// Job returns a job and its progress.
func (s *Service) Job(ctx context.Context, id string) (*Job, error) {
	if !IsUUID(id) {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return s.store.Job(ctx, id)
}

// RunJobs works through queued jobs, and jobs whose worker died, until ctx
// ends. Several nodes may run it: a job is leased to one at a time.
func (s *Service) RunJobs(ctx context.Context) {
	for {
		j, err := s.store.ClaimJob(ctx, s.now(), s.now().Add(s.lease))
		if err == nil {
			if err := s.runJob(ctx, j); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "job", "id", j.ID, "err", err)
			}
			continue
		}
		if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "claim job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(2 * time.Second):
		}
	}
}

// RunPending works through the jobs that can be claimed now and returns
// how many it ran: for tools, tests and benchmarks.
func (s *Service) RunPending(ctx context.Context) (int, error) {
	n := 0
	for {
		j, err := s.store.ClaimJob(ctx, s.now(), s.now().Add(s.lease))
		if errors.Is(err, ErrNotFound) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := s.runJob(ctx, j); err != nil {
			return n, err
		}
		n++
	}
}

func (s *Service) runJob(ctx context.Context, j *Job) error {
	var p Prepared
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return s.store.FailJob(ctx, j.ID, RowError{Message: "the job's payload is unreadable: " + err.Error()})
	}
	g, err := s.newSigner(ctx, j.CreatedBy, &p)
	var in *InputError
	if errors.Is(err, ErrNotFound) || errors.As(err, &in) {
		return s.store.FailJob(ctx, j.ID, RowError{Message: err.Error()})
	}
	if err != nil {
		return err
	}
	rows := p.Request.Recipients
	// Signing the next chunk overlaps with committing this one: the
	// signer stays one chunk ahead, the committer keeps rows in order.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *signedChunk, 1)
	signErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		for cursor := j.Done + j.Failed; cursor < len(rows); cursor += chunkSize {
			c, err := s.signChunk(ctx, g, j.ID, rows, cursor, min(cursor+chunkSize, len(rows)), false)
			if err != nil {
				signErr <- err
				return
			}
			select {
			case chunks <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	for c := range chunks {
		if err := s.commitChunk(ctx, g, j.ID, rows, c); err != nil {
			return err
		}
		if err := s.store.ExtendLease(ctx, j.ID, s.now().Add(s.lease)); err != nil {
			return err
		}
	}
	select {
	case err := <-signErr:
		return err
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.InfoContext(ctx, "job done", "id", j.ID, "issuer", j.Issuer, "rows", len(rows))
	return nil
}

// signedChunk is rows[start:end] of a job, signed and ready to commit.
type signedChunk struct {
	start, end int
	creds      []Credential
	audit      []AuditEntry
	progress   *Progress
}

// signChunk signs rows[start:end]; rows that cannot be awarded become
// row errors.
func (s *Service) signChunk(ctx context.Context, g *signer, jobID string, rows []RecipientInput, start, end int, refresh bool) (*signedChunk, error) {
	slots, err := s.allocate(ctx, g.iss.Slug, end-start, refresh)
	if err != nil {
		return nil, err
	}
	creds, errs := g.signAll(rows[start:end], start, slots)
	c := &signedChunk{start: start, end: end, progress: &Progress{JobID: jobID, Finish: end == len(rows)}}
	for i, err := range errs {
		if err != nil {
			c.progress.Failed++
			c.progress.Errors = append(c.progress.Errors, RowError{Row: start + i + 1, Message: err.Error()})
			continue
		}
		cr := creds[i]
		cr.JobID, cr.JobRow = jobID, start+i+1
		c.creds = append(c.creds, cr)
		c.audit = append(c.audit, g.audit(cr))
	}
	c.progress.Done = len(c.creds)
	return c, nil
}

// commitChunk stores a signed chunk with the job's progress. A conflict
// means another node took one of its status indexes meanwhile: the chunk
// is signed again with fresh ones.
func (s *Service) commitChunk(ctx context.Context, g *signer, jobID string, rows []RecipientInput, c *signedChunk) error {
	for attempt := 0; ; attempt++ {
		err := s.store.InsertCredentials(ctx, c.creds, c.progress, c.audit)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrConflict) || attempt == 4 {
			return fmt.Errorf("job %s rows %d-%d: %w", jobID, c.start+1, c.end, err)
		}
		if c, err = s.signChunk(ctx, g, jobID, rows, c.start, c.end, true); err != nil {
			return err
		}
	}
}
