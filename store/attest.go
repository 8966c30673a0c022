package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/issuing"
)

var _ attest.Store = (*DB)(nil)

func attestNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, attest.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

const attestationCols = "id, code, issuer, credential_id, learner_email, learner_name, batch_id, batch_row, fields, pdf_sha256, pdf_size, created_by, created_at"

// CreateAttestations implements attest.Store.
func (s *DB) CreateAttestations(ctx context.Context, as []attest.Attestation, creds []issuing.Credential, audit []issuing.AuditEntry, p *attest.BatchProgress) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertAudited(ctx, tx, creds, audit); err != nil {
			return err
		}
		for start := 0; start < len(as); start += 100 {
			end := min(start+100, len(as))
			var b strings.Builder
			b.WriteString("INSERT INTO attestations (" + attestationCols + ", pdf) VALUES ")
			args := make([]any, 0, (end-start)*14)
			for i, a := range as[start:end] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				fields, err := json.Marshal(a.Fields)
				if err != nil {
					return err
				}
				var batchID, batchRow any
				if a.BatchID != "" {
					batchID, batchRow = a.BatchID, a.BatchRow
				}
				args = append(args, a.ID, a.Code, a.Issuer, a.CredentialID, a.LearnerEmail, a.LearnerName, batchID, batchRow,
					string(fields), a.PDFSHA256, a.PDFSize, a.CreatedBy, micros(a.CreatedAt), a.PDF)
			}
			if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
				if isUnique(err) {
					return fmt.Errorf("insert attestations: %w", attest.ErrConflict)
				}
				return fmt.Errorf("store: insert attestations: %w", err)
			}
		}
		if p == nil {
			return nil
		}
		err := addProgress(ctx, s, tx, "attest_batches", p.BatchID, p.Done, p.Failed, p.Errors, p.Finish)
		if errors.Is(err, sql.ErrNoRows) {
			return attestNotFound(err, "batch "+p.BatchID)
		}
		return err
	})
}

func scanAttestation(sc interface{ Scan(...any) error }) (*attest.Attestation, error) {
	var a attest.Attestation
	var batchID sql.NullString
	var batchRow sql.NullInt64
	var fields string
	var at int64
	if err := sc.Scan(&a.ID, &a.Code, &a.Issuer, &a.CredentialID, &a.LearnerEmail, &a.LearnerName, &batchID, &batchRow,
		&fields, &a.PDFSHA256, &a.PDFSize, &a.CreatedBy, &at); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &a.Fields); err != nil {
		return nil, fmt.Errorf("attestation %s: fields: %w", a.ID, err)
	}
	a.BatchID, a.BatchRow = batchID.String, int(batchRow.Int64)
	a.CreatedAt = fromMicros(at)
	return &a, nil
}

func (s *DB) attestationWhere(ctx context.Context, col, v string) (*attest.Attestation, error) {
	a, err := scanAttestation(s.db.QueryRowContext(ctx, s.q("SELECT "+attestationCols+" FROM attestations WHERE "+col+" = ? ORDER BY created_at LIMIT 1"), v))
	if err != nil {
		return nil, attestNotFound(err, "attestation with "+col+" "+v)
	}
	return a, nil
}

// Attestation implements attest.Store.
func (s *DB) Attestation(ctx context.Context, id string) (*attest.Attestation, error) {
	return s.attestationWhere(ctx, "id", id)
}

// AttestationByCode implements attest.Store.
func (s *DB) AttestationByCode(ctx context.Context, code string) (*attest.Attestation, error) {
	return s.attestationWhere(ctx, "code", code)
}

// AttestationBySHA256 implements attest.Store.
func (s *DB) AttestationBySHA256(ctx context.Context, sha string) (*attest.Attestation, error) {
	return s.attestationWhere(ctx, "pdf_sha256", sha)
}

// AttestationByCredential implements attest.Store.
func (s *DB) AttestationByCredential(ctx context.Context, id string) (*attest.Attestation, error) {
	return s.attestationWhere(ctx, "credential_id", id)
}

// BatchAttestations implements attest.Store, in row order.
func (s *DB) BatchAttestations(ctx context.Context, batchID string) ([]attest.Attestation, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+attestationCols+" FROM attestations WHERE batch_id = ? ORDER BY batch_row"), batchID)
	if err != nil {
		return nil, fmt.Errorf("store: batch attestations: %w", err)
	}
	defer rows.Close()
	var out []attest.Attestation
	for rows.Next() {
		a, err := scanAttestation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: batch attestations: %w", err)
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// AttestationPDF implements attest.Store.
func (s *DB) AttestationPDF(ctx context.Context, id string) ([]byte, error) {
	var pdf []byte
	if err := s.db.QueryRowContext(ctx, s.q("SELECT pdf FROM attestations WHERE id = ?"), id).Scan(&pdf); err != nil {
		return nil, attestNotFound(err, "attestation "+id)
	}
	return pdf, nil
}

const batchCols = "id, issuer, state, total, done, failed, errors, session, achievement, created_by, created_at, updated_at, lease_until"

func scanBatch(sc interface{ Scan(...any) error }) (*attest.Batch, error) {
	var b attest.Batch
	var errs, session string
	var created, updated, lease int64
	if err := sc.Scan(&b.ID, &b.Issuer, &b.State, &b.Total, &b.Done, &b.Failed, &errs, &session, &b.Achievement, &b.CreatedBy,
		&created, &updated, &lease, &b.MergedSHA256, &b.MergedSize); err != nil {
		return nil, err
	}
	json.Unmarshal([]byte(errs), &b.Errors)
	b.Session = json.RawMessage(session)
	b.CreatedAt, b.UpdatedAt, b.LeaseUntil = fromMicros(created), fromMicros(updated), fromMicros(lease)
	return &b, nil
}

// CreateBatch implements attest.Store.
func (s *DB) CreateBatch(ctx context.Context, b attest.Batch) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO attest_batches (id, issuer, state, total, session, achievement, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		b.ID, b.Issuer, b.State, b.Total, string(b.Session), b.Achievement, b.CreatedBy, micros(b.CreatedAt), micros(b.CreatedAt))
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("create batch: %w", attest.ErrConflict)
		}
		return fmt.Errorf("store: create batch: %w", err)
	}
	return nil
}

// Batch implements attest.Store.
func (s *DB) Batch(ctx context.Context, id string) (*attest.Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, s.q(batchSelect+" WHERE attest_batches.id = ?"), id))
	if err != nil {
		return nil, attestNotFound(err, "batch "+id)
	}
	return b, nil
}

// ClaimBatch implements attest.Store, as ClaimJob does for issuing.
func (s *DB) ClaimBatch(ctx context.Context, now, until time.Time) (*attest.Batch, error) {
	id, err := s.claimLeased(ctx, "attest_batches", now, until)
	if errors.Is(err, errNothingToClaim) {
		return nil, fmt.Errorf("batch to claim: %w", attest.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim batch: %w", err)
	}
	return s.Batch(ctx, id)
}

// ExtendBatchLease implements attest.Store.
func (s *DB) ExtendBatchLease(ctx context.Context, id string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE attest_batches SET lease_until = ? WHERE id = ? AND state = 'running'"), micros(until), id)
	if err != nil {
		return fmt.Errorf("store: extend batch lease: %w", err)
	}
	return nil
}

// FailBatch implements attest.Store.
func (s *DB) FailBatch(ctx context.Context, id, reason string) error {
	eb, _ := json.Marshal([]attest.RowError{{Message: reason}})
	_, err := s.db.ExecContext(ctx, s.q("UPDATE attest_batches SET state = 'failed', errors = ?, updated_at = ? WHERE id = ?"), string(eb), micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("store: fail batch: %w", err)
	}
	return nil
}

// LearnerAttestations implements attest.Store: newest first.
func (s *DB) LearnerAttestations(ctx context.Context, emails []string, limit int) ([]attest.Attestation, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(emails)+1)
	marks := make([]string, len(emails))
	for i, e := range emails {
		marks[i] = "?"
		args = append(args, e)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+attestationCols+" FROM attestations WHERE learner_email IN ("+strings.Join(marks, ", ")+
		") ORDER BY created_at DESC, id LIMIT ?"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: learner attestations: %w", err)
	}
	defer rows.Close()
	var out []attest.Attestation
	for rows.Next() {
		a, err := scanAttestation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: learner attestations: %w", err)
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// Batches implements attest.Store: an issuer's batches, newest first.
func (s *DB) Batches(ctx context.Context, issuer string, limit int) ([]attest.Batch, error) {
	rows, err := s.db.QueryContext(ctx, s.q(batchSelect+" WHERE attest_batches.issuer = ? ORDER BY attest_batches.created_at DESC, attest_batches.id LIMIT ?"), issuer, limit)
	if err != nil {
		return nil, fmt.Errorf("store: batches: %w", err)
	}
	defer rows.Close()
	var out []attest.Batch
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("store: batches: %w", err)
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}
