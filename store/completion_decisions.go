package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
)

// onlyPending restricts an update to the awards still pending: one the
// worker fails or releases after its rule was deleted stays cancelled.
const onlyPending = "state = 'pending' AND "

// replaceCancelled is the upsert of InsertAwards: a new decision takes the
// place of a cancelled one, afresh; any other decision already there wins.
const replaceCancelled = `credential_id = excluded.credential_id, issuer = excluded.issuer, state = excluded.state,
	reason = excluded.reason, completion_key = excluded.completion_key, name = excluded.name, evidence = excluded.evidence,
	error = '', attempts = 0, claim = '', lease_until = 0, created_at = excluded.created_at, issued_at = NULL
	WHERE completion_awards.state = 'cancelled'`

// firstPerPair keeps the first award of each (learner, achievement).
func firstPerPair(as []completion.Award) []completion.Award {
	seen := make(map[string]bool, len(as))
	dup := false
	for _, a := range as {
		k := a.Learner + "\x00" + a.AchievementID
		dup = dup || seen[k]
		seen[k] = true
	}
	if !dup {
		return as
	}
	clear(seen)
	out := make([]completion.Award, 0, len(as))
	for _, a := range as {
		k := a.Learner + "\x00" + a.AchievementID
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// cancelRuleAwards cancels, in the transaction deleting a mapping or a
// parcours, the awards it decided that are not issued, and records the
// deletion in the audit log with how many it cancelled.
func (s *DB) cancelRuleAwards(ctx context.Context, tx *sql.Tx, kind, id string, a issuing.AuditEntry) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE completion_awards SET state = 'cancelled', error = ?, claim = '', lease_until = 0
		WHERE reason = ? AND state IN ('pending', 'failed')`), completion.RuleGone(kind, id), kind+":"+id)
	if err != nil {
		return fmt.Errorf("store: cancel the awards of %s %s: %w", kind, id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if a.Detail != "" {
			a.Detail += "; "
		}
		a.Detail += fmt.Sprintf("%d awards not issued yet cancelled", n)
	}
	return s.audit(ctx, tx, a)
}

// LiveRules implements completion.Tx. On PostgreSQL the rows are locked
// FOR SHARE: a deletion waits for this transaction, and then cancels what
// it decided; one that came first is seen here as a missing row. SQLite
// transactions are serialized anyway.
func (t *recordTx) LiveRules(ctx context.Context, mappings, parcours []string) (map[string]bool, error) {
	lock := ""
	if t.s.dialect == Postgres {
		lock = " FOR SHARE"
	}
	live := map[string]bool{}
	for _, r := range []struct {
		kind, table string
		ids         []string
	}{{"mapping", "completion_mappings", mappings}, {"parcours", "parcours", parcours}} {
		ids := slices.Clone(r.ids)
		slices.Sort(ids) // one order for every transaction's locks
		err := inChunks(ids, 500, func(part []string) error {
			args := make([]any, len(part))
			for i, id := range part {
				args[i] = id
			}
			rows, err := t.tx.QueryContext(ctx, t.s.q("SELECT id FROM "+r.table+" WHERE id IN ("+marks(len(part))+") ORDER BY id"+lock), args...)
			if err != nil {
				return fmt.Errorf("store: live rules: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				live[r.kind+":"+id] = true
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	return live, nil
}

// decisionCols are awardCols of the award (a) and the activity of its
// completion (c).
var decisionCols = "a." + strings.ReplaceAll(awardCols, ", ", ", a.") + ", COALESCE(c.activity, '')"

const decisionFrom = " FROM completion_awards a LEFT JOIN completions c ON c.key = a.completion_key"

func (s *DB) decisions(ctx context.Context, query string, args ...any) ([]completion.Decision, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: award decisions: %w", err)
	}
	defer rows.Close()
	var out []completion.Decision
	for rows.Next() {
		var d completion.Decision
		var ev string
		var created int64
		var issued sql.NullInt64
		if err := rows.Scan(&d.Learner, &d.AchievementID, &d.Issuer, &d.CredentialID, &d.State, &d.Reason, &d.CompletionKey, &d.Name, &ev,
			&d.Error, &d.Attempts, &created, &issued, &d.Activity); err != nil {
			return nil, fmt.Errorf("store: award decisions: %w", err)
		}
		if err := json.Unmarshal([]byte(ev), &d.Evidence); err != nil {
			return nil, fmt.Errorf("store: award %s: evidence: %w", d.CredentialID, err)
		}
		d.CreatedAt = fromMicros(created)
		if issued.Valid {
			d.IssuedAt = fromMicros(issued.Int64)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// IssuerAwards implements completion.Store. The state is written into the
// query, from the fixed list, so that both databases use the partial
// indexes of failed and cancelled awards (migration 0011).
func (s *DB) IssuerAwards(ctx context.Context, issuer, state string, limit, offset int) ([]completion.Decision, int, error) {
	where := " WHERE a.issuer = ?"
	if state != "" {
		if !slices.Contains(completion.AwardStates, state) {
			return nil, 0, fmt.Errorf("store: award decisions: unknown state %q", state)
		}
		where += " AND a.state = '" + state + "'"
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM completion_awards a"+where), issuer).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count award decisions: %w", err)
	}
	out, err := s.decisions(ctx, "SELECT "+decisionCols+decisionFrom+where+" ORDER BY a.created_at, a.credential_id LIMIT ? OFFSET ?", issuer, limit, offset)
	return out, total, err
}

// Award implements completion.Store.
func (s *DB) Award(ctx context.Context, credentialID string) (*completion.Decision, error) {
	ds, err := s.decisions(ctx, "SELECT "+decisionCols+decisionFrom+" WHERE a.credential_id = ?", credentialID)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("award %s: %w", credentialID, issuing.ErrNotFound)
	}
	return &ds[0], nil
}

// RetryAward implements completion.Store.
func (s *DB) RetryAward(ctx context.Context, credentialID string, a issuing.AuditEntry) error {
	return s.changeAward(ctx, credentialID, "state = 'failed'",
		"state = 'pending', attempts = 0, error = '', claim = '', lease_until = 0, issued_at = NULL", nil, a)
}

// CancelAward implements completion.Store.
func (s *DB) CancelAward(ctx context.Context, credentialID, reason string, a issuing.AuditEntry) error {
	return s.changeAward(ctx, credentialID, "state IN ('pending', 'failed')", "state = 'cancelled', error = ?, claim = '', lease_until = 0", []any{reason}, a)
}

// changeAward updates an award whose state meets cond, with an audit
// entry; ErrConflict when it does not.
func (s *DB) changeAward(ctx context.Context, credentialID, cond, set string, args []any, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE completion_awards SET "+set+" WHERE credential_id = ? AND "+cond), append(args, credentialID)...)
		if err != nil {
			return fmt.Errorf("store: award %s: %w", credentialID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("award %s has changed meanwhile: %w", credentialID, issuing.ErrConflict)
		}
		return s.audit(ctx, tx, a)
	})
}
