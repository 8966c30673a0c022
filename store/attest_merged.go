package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/insigne/insigne/attest"
)

// batchSelect reads a batch with its merged PDF's hash and size, if any.
const batchSelect = "SELECT " + batchCols + ", COALESCE(m.sha256, ''), COALESCE(m.size, 0) FROM attest_batches LEFT JOIN attest_merged m ON m.batch_id = attest_batches.id"

// FinishMerged implements attest.Store: the merged PDF is stored and the
// batch done in one transaction.
func (s *DB) FinishMerged(ctx context.Context, batchID, sha string, pdf []byte, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM attest_merged WHERE batch_id = ?"), batchID); err != nil {
			return fmt.Errorf("store: merged PDF: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO attest_merged (batch_id, sha256, size, pdf, merged_at) VALUES (?, ?, ?, ?, ?)"),
			batchID, sha, len(pdf), pdf, micros(at)); err != nil {
			return fmt.Errorf("store: merged PDF: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE attest_batches SET state = ?, updated_at = ? WHERE id = ?"), attest.BatchDone, micros(at), batchID)
		if err != nil {
			return fmt.Errorf("store: finish batch: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("batch %s: %w", batchID, attest.ErrNotFound)
		}
		return nil
	})
}

// MergedPDF implements attest.Store.
func (s *DB) MergedPDF(ctx context.Context, batchID string) ([]byte, error) {
	var pdf []byte
	if err := s.db.QueryRowContext(ctx, s.q("SELECT pdf FROM attest_merged WHERE batch_id = ?"), batchID).Scan(&pdf); err != nil {
		return nil, attestNotFound(err, "merged PDF of batch "+batchID)
	}
	return pdf, nil
}

// BatchByMergedSHA256 implements attest.Store.
func (s *DB) BatchByMergedSHA256(ctx context.Context, sha string) (*attest.Batch, error) {
	b, err := scanBatch(s.db.QueryRowContext(ctx, s.q(batchSelect+" WHERE m.sha256 = ? ORDER BY m.merged_at LIMIT 1"), sha))
	if err != nil {
		return nil, attestNotFound(err, "batch with merged PDF "+sha)
	}
	return b, nil
}
