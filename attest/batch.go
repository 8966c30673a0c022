package attest

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
)

// Participant is one row of a session: who enrolled, where they work,
// and whether they attended. Attestations go to those present.
type Participant struct {
	Email         string `json:"email"`
	Name          string `json:"name"`
	Establishment string `json:"establishment,omitempty"` // appellation – ville
	Present       bool   `json:"present"`
}

// Session is a training session with its participants: the source of a
// batch of attestations and of the collective attendance report.
type Session struct {
	Training
	// Reference is the course's short name on the platform (Réf).
	Reference    string        `json:"reference,omitempty"`
	Comment      string        `json:"comment,omitempty"`
	Participants []Participant `json:"participants"`
	// Output is "zip" (the default: the PDFs one by one, as a ZIP) or
	// "pdf": the batch also makes one merged PDF of every attestation,
	// each credential attached to it, and is done when that is stored.
	Output string `json:"output,omitempty"`
}

// Batch outputs.
const (
	OutputZIP = "zip"
	OutputPDF = "pdf"
)

// Batch states.
const (
	BatchQueued  = "queued"
	BatchRunning = "running"
	BatchDone    = "done"
	BatchFailed  = "failed"
)

// RowError says why one participant got no attestation; rows count from 1.
type RowError struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

// Batch is the job that issues the attestations of a session. Its cursor
// (Done+Failed, over the participants present) only moves in the
// transaction that stores the attestations with their credentials, so a
// restart neither repeats nor skips one, and leaves no credential without
// its attestation.
type Batch struct {
	ID          string
	Issuer      string
	State       string
	Total       int
	Done        int
	Failed      int
	Errors      []RowError
	Session     json.RawMessage
	Achievement string // the achievement (training) every credential names
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LeaseUntil  time.Time
	// MergedSHA256 and MergedSize describe the merged PDF once stored.
	MergedSHA256 string
	MergedSize   int64
}

// BatchProgress is what one chunk of a batch changes.
type BatchProgress struct {
	BatchID string
	Done    int
	Failed  int
	Errors  []RowError
	Finish  bool
}

// MaxParticipants caps one session.
const MaxParticipants = 10000

// batchPayload is what a batch keeps to resume after a crash: the session
// and the result descriptions of its training's achievement.
type batchPayload struct {
	Session  Session `json:"session"`
	RDIn     string  `json:"rdIn"`
	RDRemote string  `json:"rdRemote"`
}

func (sess *Session) check() error {
	if err := sess.Training.check(); err != nil {
		return err
	}
	if err := checkText("reference", sess.Reference, false); err != nil {
		return err
	}
	if sess.Output != "" && sess.Output != OutputZIP && sess.Output != OutputPDF {
		return inputErr("output", "must be %q or %q", OutputZIP, OutputPDF)
	}
	if len(sess.Comment) > 2000 {
		return inputErr("comment", "is longer than 2000 characters")
	}
	if len(sess.Participants) == 0 {
		return inputErr("participants", "at least one participant is required")
	}
	if len(sess.Participants) > MaxParticipants {
		return inputErr("participants", "at most %d participants in one session", MaxParticipants)
	}
	seen := make(map[string]bool, len(sess.Participants))
	for i, p := range sess.Participants {
		f := fmt.Sprintf("participants[%d]", i)
		if err := checkLearner(f, Learner{Email: p.Email, Name: p.Name}); err != nil {
			return err
		}
		// One row per person: the e-mail address identifies a
		// participant's credential when a batch resumes.
		e := badges.NormalizeEmail(p.Email)
		if seen[e] {
			return inputErr(f+".email", "%s is already a participant of the session", p.Email)
		}
		seen[e] = true
		if err := checkText(f+".establishment", p.Establishment, false); err != nil {
			return err
		}
	}
	return nil
}

func (sess *Session) present() []Learner {
	var out []Learner
	for _, p := range sess.Participants {
		if p.Present {
			out = append(out, Learner{Email: p.Email, Name: p.Name})
		}
	}
	return out
}

// StartBatch queues the attestations of every participant present in a
// session, as a job whose progress can be read while it runs.
func (s *Service) StartBatch(ctx context.Context, actor string, sess Session) (*Batch, error) {
	if err := sess.check(); err != nil {
		return nil, err
	}
	tr, err := s.prepareTraining(ctx, actor, sess.Training)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(batchPayload{Session: sess, RDIn: tr.rdIn, RDRemote: tr.rdRemote})
	if err != nil {
		return nil, err
	}
	b := Batch{ID: newUUID(), Issuer: sess.Issuer, State: BatchQueued, Total: len(sess.present()), Session: payload,
		Achievement: tr.achID, CreatedBy: actor, CreatedAt: s.now()}
	if err := s.store.CreateBatch(ctx, b); err != nil {
		return nil, fmt.Errorf("start batch: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return &b, nil
}

// Batch returns a batch and its progress.
func (s *Service) Batch(ctx context.Context, id string) (*Batch, error) {
	if !issuing.IsUUID(id) {
		return nil, fmt.Errorf("batch %q: %w", id, ErrNotFound)
	}
	return s.store.Batch(ctx, id)
}

// SessionOf decodes the session a batch was made from.
func (b *Batch) SessionOf() (Session, error) {
	var p batchPayload
	if err := json.Unmarshal(b.Session, &p); err != nil {
		return Session{}, fmt.Errorf("batch %s: %w", b.ID, err)
	}
	return p.Session, nil
}

// RunBatches works through queued batches, and those whose worker died,
// until ctx ends. Several nodes may run it.
func (s *Service) RunBatches(ctx context.Context) {
	for {
		b, err := s.store.ClaimBatch(ctx, s.now(), s.now().Add(s.lease))
		if err == nil {
			if err := s.runBatch(ctx, b); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "attestation batch", "id", b.ID, "err", err)
			}
			continue
		}
		if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "claim attestation batch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-time.After(2 * time.Second):
		}
	}
}

// RunPendingBatches runs the batches that can be claimed now: for tools,
// tests and benchmarks.
func (s *Service) RunPendingBatches(ctx context.Context) (int, error) {
	n := 0
	for {
		b, err := s.store.ClaimBatch(ctx, s.now(), s.now().Add(s.lease))
		if errors.Is(err, ErrNotFound) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := s.runBatch(ctx, b); err != nil {
			return n, err
		}
		n++
	}
}

// batchChunk is how many attestations are issued and committed together.
const batchChunk = 100

func (s *Service) runBatch(ctx context.Context, b *Batch) error {
	var p batchPayload
	if err := json.Unmarshal(b.Session, &p); err != nil {
		return s.store.FailBatch(ctx, b.ID, "the batch's session is unreadable: "+err.Error())
	}
	iss, err := s.iss.Issuer(ctx, b.Issuer)
	if err != nil {
		return s.store.FailBatch(ctx, b.ID, err.Error())
	}
	comps, _, err := s.competencies(p.Session.Competencies)
	if err != nil {
		return s.store.FailBatch(ctx, b.ID, err.Error())
	}
	tr := &training{t: p.Session.Training, comps: comps, issuer: iss, achID: b.Achievement, rdIn: p.RDIn, rdRemote: p.RDRemote}
	learners := p.Session.present()
	merge := p.Session.Output == OutputPDF
	cursor := b.Done + b.Failed
	if cursor >= len(learners) {
		if merge {
			return s.merge(ctx, b, p.Session)
		}
		return s.store.CreateAttestations(ctx, nil, nil, nil, &BatchProgress{BatchID: b.ID, Finish: true})
	}
	for ; cursor < len(learners); cursor += batchChunk {
		end := min(cursor+batchChunk, len(learners))
		first := cursor
		err := s.issueAll(ctx, b.CreatedBy, tr, learners[cursor:end], func(rows []rendered) error {
			// A row whose PDF cannot be made is a failed row: its
			// credential is not stored, the others are.
			p := &BatchProgress{BatchID: b.ID, Finish: end == len(learners) && !merge}
			for i := range rows {
				if rows[i].err != nil {
					p.Failed++
					p.Errors = append(p.Errors, RowError{Row: first + i + 1, Message: rows[i].err.Error()})
					continue
				}
				rows[i].att.BatchID, rows[i].att.BatchRow = b.ID, first+i+1
				p.Done++
			}
			return s.storeRows(ctx, rows, p)
		})
		var in *issuing.InputError
		var ain *InputError
		if errors.As(err, &in) || errors.As(err, &ain) {
			return s.store.FailBatch(ctx, b.ID, err.Error())
		}
		if err != nil {
			return fmt.Errorf("batch %s rows %d-%d: %w", b.ID, cursor+1, end, err)
		}
		if err := s.store.ExtendBatchLease(ctx, b.ID, s.now().Add(s.lease)); err != nil {
			return err
		}
	}
	if merge {
		if err := s.merge(ctx, b, p.Session); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "attestation batch done", "id", b.ID, "issuer", b.Issuer, "attestations", len(learners))
	return nil
}

// WriteZip writes the PDFs of a batch's attestations as one ZIP, in the
// order of the participants. The PDFs are compressed already: stored as
// they are.
func (s *Service) WriteZip(ctx context.Context, w io.Writer, b *Batch) error {
	as, err := s.store.BatchAttestations(ctx, b.ID)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, a := range as {
		if err := ctx.Err(); err != nil {
			return err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%04d-%s-%s.pdf", a.BatchRow, fileSafe(a.LearnerName), a.Code),
			Method: zip.Store, Modified: a.CreatedAt})
		if err != nil {
			return err
		}
		pdf, err := s.store.AttestationPDF(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("attestation %s PDF: %w", a.ID, err)
		}
		if _, err := fw.Write(pdf); err != nil {
			return err
		}
	}
	return zw.Close()
}

// fileSafe makes a name usable in a file name: ASCII letters, digits and
// hyphens.
func fileSafe(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\'':
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}
