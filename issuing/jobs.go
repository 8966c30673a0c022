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

// leaseFor is how long a claimed job is held without news from its worker;
// after that another worker (or this one after a restart) takes it over.
const leaseFor = 30 * time.Second

// StartJob stores a bulk award as a queued job and wakes the worker.
func (s *Service) StartJob(ctx context.Context, actor string, p *Prepared) (*Job, error) {
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
		j, err := s.store.ClaimJob(ctx, s.now(), s.now().Add(leaseFor))
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

func (s *Service) runJob(ctx context.Context, j *Job) error {
	var p Prepared
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return s.store.FailJob(ctx, j.ID, RowError{Message: "the job's payload is unreadable: " + err.Error()})
	}
	g, err := s.newSigner(ctx, j.CreatedBy, &p)
	if errors.Is(err, ErrNotFound) {
		return s.store.FailJob(ctx, j.ID, RowError{Message: err.Error()})
	}
	if err != nil {
		return err
	}
	rows := p.Request.Recipients
	for cursor := j.Done + j.Failed; cursor < len(rows); {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		end := min(cursor+chunkSize, len(rows))
		n, err := s.runChunk(ctx, g, j.ID, rows, cursor, end)
		if err != nil {
			return err
		}
		cursor += n
		if err := s.store.ExtendLease(ctx, j.ID, s.now().Add(leaseFor)); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "job done", "id", j.ID, "issuer", j.Issuer, "rows", len(rows))
	return nil
}

// runChunk signs rows[start:end] and commits them with the job's progress.
func (s *Service) runChunk(ctx context.Context, g *signer, jobID string, rows []RecipientInput, start, end int) (int, error) {
	for attempt := 0; ; attempt++ {
		slots, err := s.allocate(ctx, g.iss.Slug, end-start, attempt > 0)
		if err != nil {
			return 0, err
		}
		creds, errs := g.signAll(rows[start:end], start, slots)
		p := &Progress{JobID: jobID, Finish: end == len(rows)}
		var ok []Credential
		var audit []AuditEntry
		for i, err := range errs {
			if err != nil {
				p.Failed++
				p.Errors = append(p.Errors, RowError{Row: start + i + 1, Message: err.Error()})
				continue
			}
			c := creds[i]
			c.JobID, c.JobRow = jobID, start+i+1
			ok = append(ok, c)
			audit = append(audit, g.audit(c))
		}
		p.Done = len(ok)
		err = s.store.InsertCredentials(ctx, ok, p, audit)
		if errors.Is(err, ErrConflict) && attempt < 4 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("job %s rows %d-%d: %w", jobID, start+1, end, err)
		}
		return end - start, nil
	}
}
