package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
)

var _ completion.Store = (*DB)(nil)

// querier is what a DB and a transaction both do.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// marks returns n comma-separated placeholders.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inChunks calls fn on successive slices of at most n elements: IN lists
// and multi-row inserts stay within both databases' parameter limits.
func inChunks[T any](xs []T, n int, fn func([]T) error) error {
	for start := 0; start < len(xs); start += n {
		if err := fn(xs[start:min(start+n, len(xs))]); err != nil {
			return err
		}
	}
	return nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Record implements completion.Store. The learners are upserted sorted by
// e-mail, so that concurrent transactions take their row locks in the
// same order and never deadlock; on PostgreSQL those locks serialize the
// recordings of one learner until commit.
func (s *DB) Record(ctx context.Context, learners []completion.Learner, fn func(completion.Tx) error) error {
	ls := slices.Clone(learners)
	slices.SortFunc(ls, func(a, b completion.Learner) int { return strings.Compare(a.Email, b.Email) })
	ls = slices.CompactFunc(ls, func(a, b completion.Learner) bool { return a.Email == b.Email })
	now := micros(time.Now())
	// A deadlock PostgreSQL broke (two batches racing on the same
	// statement ids in opposite orders) is worth another try: fn starts
	// afresh each time.
	for attempt := 0; ; attempt++ {
		err := s.record(ctx, ls, now, fn)
		if attempt < 3 && isRetryable(err) {
			continue
		}
		return err
	}
}

// isRetryable tells a deadlock or serialization failure, which a new
// attempt of the same transaction may not meet.
func isRetryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

func (s *DB) record(ctx context.Context, ls []completion.Learner, now int64, fn func(completion.Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := inChunks(ls, 200, func(part []completion.Learner) error {
			args := make([]any, 0, len(part)*6)
			vals := make([]string, len(part))
			for i, l := range part {
				vals[i] = "(?, ?, ?, ?, ?, ?)"
				args = append(args, l.Email, l.Name, l.Academie, l.Departement, l.Discipline, now)
			}
			_, err := tx.ExecContext(ctx, s.q("INSERT INTO learners (email, name, academie, departement, discipline, updated_at) VALUES "+strings.Join(vals, ", ")+
				` ON CONFLICT (email) DO UPDATE SET
				name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE learners.name END,
				academie = CASE WHEN excluded.academie <> '' THEN excluded.academie ELSE learners.academie END,
				departement = CASE WHEN excluded.departement <> '' THEN excluded.departement ELSE learners.departement END,
				discipline = CASE WHEN excluded.discipline <> '' THEN excluded.discipline ELSE learners.discipline END,
				updated_at = excluded.updated_at`), args...)
			if err != nil {
				return fmt.Errorf("store: upsert learners: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return fn(&recordTx{s: s, tx: tx})
	})
}

type recordTx struct {
	s  *DB
	tx *sql.Tx
}

// returning runs a multi-row INSERT … ON CONFLICT DO NOTHING RETURNING col
// and collects the values of the rows it inserted.
func (s *DB) returning(ctx context.Context, q querier, query string, args []any, got map[string]bool) error {
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		got[k] = true
	}
	return rows.Err()
}

// InsertCompletions implements completion.Tx.
func (t *recordTx) InsertCompletions(ctx context.Context, cs []completion.Stored) ([]bool, error) {
	got := map[string]bool{}
	err := inChunks(cs, 200, func(part []completion.Stored) error {
		args := make([]any, 0, len(part)*13)
		vals := make([]string, len(part))
		for i, c := range part {
			vals[i] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			data, err := json.Marshal(c.Completion)
			if err != nil {
				return err
			}
			var passed, score any
			if c.Passed != nil {
				passed = boolInt(*c.Passed)
			}
			if c.Score != nil {
				score = *c.Score
			}
			args = append(args, c.Key, c.Source, c.SourceRef, c.Client, c.Learner.Email, completion.ActivityKey(c.Activity),
				boolInt(c.Completed), passed, score, micros(c.At), c.Duration.Milliseconds(), string(data), micros(c.ReceivedAt))
		}
		err := t.s.returning(ctx, t.tx, `INSERT INTO completions (key, source, source_ref, client, learner, activity, completed, passed, score, at, duration_ms, data, received_at)
			VALUES `+strings.Join(vals, ", ")+" ON CONFLICT DO NOTHING RETURNING key", args, got)
		if err != nil {
			return fmt.Errorf("store: insert completions: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(cs))
	for i, c := range cs {
		out[i] = got[c.Key]
	}
	return out, nil
}

// InsertAwards implements completion.Tx. A cancelled award (its rule was
// deleted before it was issued) gives way to the new decision.
func (t *recordTx) InsertAwards(ctx context.Context, as []completion.Award) ([]bool, error) {
	got := map[string]bool{}
	// One statement may not upsert the same row twice: the first decision
	// for a (learner, achievement) is the one tried.
	err := inChunks(firstPerPair(as), 200, func(part []completion.Award) error {
		args := make([]any, 0, len(part)*10)
		vals := make([]string, len(part))
		for i, a := range part {
			vals[i] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			ev, err := json.Marshal(a.Evidence)
			if err != nil {
				return err
			}
			if a.Evidence == nil {
				ev = []byte("[]")
			}
			args = append(args, a.Learner, a.AchievementID, a.Issuer, a.CredentialID, a.State, a.Reason, a.CompletionKey, a.Name, string(ev), micros(a.CreatedAt))
		}
		err := t.s.returning(ctx, t.tx, `INSERT INTO completion_awards (learner, achievement_id, issuer, credential_id, state, reason, completion_key, name, evidence, created_at)
			VALUES `+strings.Join(vals, ", ")+" ON CONFLICT (learner, achievement_id) DO UPDATE SET "+replaceCancelled+" RETURNING credential_id", args, got)
		if err != nil {
			return fmt.Errorf("store: insert awards: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(as))
	for i, a := range as {
		out[i] = got[a.CredentialID]
	}
	return out, nil
}

// Holdings implements completion.Tx.
func (t *recordTx) AchievementHoldings(ctx context.Context, learners, achievements []string) ([]completion.Holding, error) {
	return t.s.holdings(ctx, t.tx, learners, achievements)
}

// Holdings implements completion.Store.
func (s *DB) AchievementHoldings(ctx context.Context, learners, achievements []string) ([]completion.Holding, error) {
	return s.holdings(ctx, s.db, learners, achievements)
}

// CredentialIssuers implements completion.Store.
func (s *DB) CredentialIssuers(ctx context.Context, email string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT DISTINCT issuer FROM credentials WHERE recipient_email = ? ORDER BY issuer"), email)
	if err != nil {
		return nil, fmt.Errorf("store: credential issuers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var i string
		if err := rows.Scan(&i); err != nil {
			return nil, fmt.Errorf("store: credential issuers: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// holdings: a pending award counts as held (it will be issued); an issued
// one counts through its credential, and only while that is active.
func (s *DB) holdings(ctx context.Context, q querier, learners, achievements []string) ([]completion.Holding, error) {
	if len(learners) == 0 || len(achievements) == 0 {
		return nil, nil
	}
	var out []completion.Holding
	err := inChunks(achievements, 100, func(achs []string) error {
		return inChunks(learners, 400, func(ls []string) error {
			args := make([]any, 0, 2*(len(ls)+len(achs)))
			for range 2 {
				for _, l := range ls {
					args = append(args, l)
				}
				for _, a := range achs {
					args = append(args, a)
				}
			}
			rows, err := q.QueryContext(ctx, s.q(`SELECT learner, achievement_id, credential_id, 0 FROM completion_awards
				WHERE state = 'pending' AND learner IN (`+marks(len(ls))+`) AND achievement_id IN (`+marks(len(achs))+`)
				UNION ALL SELECT recipient_email, achievement_id, id, 1 FROM credentials
				WHERE state = 'active' AND recipient_email IN (`+marks(len(ls))+`) AND achievement_id IN (`+marks(len(achs))+`)`), args...)
			if err != nil {
				return fmt.Errorf("store: holdings: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var h completion.Holding
				var issued int
				if err := rows.Scan(&h.Learner, &h.AchievementID, &h.CredentialID, &issued); err != nil {
					return err
				}
				h.Issued = issued == 1
				out = append(out, h)
			}
			return rows.Err()
		})
	})
	return out, err
}

const mappingCols = "id, issuer, achievement_id, kind, value, require_completed, require_passed, min_score, not_before, not_after, created_by, created_at"

func scanMapping(sc interface{ Scan(...any) error }) (*completion.Mapping, error) {
	var m completion.Mapping
	var rc, rp int
	var score sql.NullFloat64
	var from, until sql.NullInt64
	var at int64
	if err := sc.Scan(&m.ID, &m.Issuer, &m.AchievementID, &m.Kind, &m.Value, &rc, &rp, &score, &from, &until, &m.CreatedBy, &at); err != nil {
		return nil, err
	}
	m.Conditions.Completed, m.Conditions.Passed = rc == 1, rp == 1
	if score.Valid {
		v := score.Float64
		m.Conditions.MinScore = &v
	}
	if from.Valid {
		t := fromMicros(from.Int64)
		m.Conditions.From = &t
	}
	if until.Valid {
		t := fromMicros(until.Int64)
		m.Conditions.Until = &t
	}
	m.CreatedAt = fromMicros(at)
	return &m, nil
}

func (s *DB) mappings(ctx context.Context, query string, args ...any) ([]completion.Mapping, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: mappings: %w", err)
	}
	defer rows.Close()
	var out []completion.Mapping
	for rows.Next() {
		m, err := scanMapping(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// CreateMapping implements completion.Store.
func (s *DB) CreateMapping(ctx context.Context, m completion.Mapping, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var score any
		if m.Conditions.MinScore != nil {
			score = *m.Conditions.MinScore
		}
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO completion_mappings ("+mappingCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			m.ID, m.Issuer, m.AchievementID, m.Kind, m.Value, boolInt(m.Conditions.Completed), boolInt(m.Conditions.Passed), score,
			nullTime(m.Conditions.From), nullTime(m.Conditions.Until), m.CreatedBy, micros(m.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("%s %q already maps to achievement %s: %w", m.Kind, m.Value, m.AchievementID, issuing.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create mapping: %w", err)
		}
		return s.audit(ctx, tx, a)
	})
}

// Mapping implements completion.Store.
func (s *DB) Mapping(ctx context.Context, id string) (*completion.Mapping, error) {
	m, err := scanMapping(s.db.QueryRowContext(ctx, s.q("SELECT "+mappingCols+" FROM completion_mappings WHERE id = ?"), id))
	if err != nil {
		return nil, notFound(err, "mapping "+id)
	}
	return m, nil
}

// Mappings implements completion.Store.
func (s *DB) Mappings(ctx context.Context, issuer string) ([]completion.Mapping, error) {
	if issuer == "" {
		return s.mappings(ctx, "SELECT "+mappingCols+" FROM completion_mappings ORDER BY created_at, id")
	}
	return s.mappings(ctx, "SELECT "+mappingCols+" FROM completion_mappings WHERE issuer = ? ORDER BY created_at, id", issuer)
}

// MappingsFor implements completion.Store.
func (s *DB) MappingsFor(ctx context.Context, values []string) ([]completion.Mapping, error) {
	var out []completion.Mapping
	err := inChunks(values, 500, func(part []string) error {
		args := make([]any, len(part))
		for i, v := range part {
			args[i] = v
		}
		ms, err := s.mappings(ctx, "SELECT "+mappingCols+" FROM completion_mappings WHERE value IN ("+marks(len(part))+")", args...)
		out = append(out, ms...)
		return err
	})
	return out, err
}

// DeleteMapping implements completion.Store.
func (s *DB) DeleteMapping(ctx context.Context, id string, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM completion_mappings WHERE id = ?"), id)
		if err != nil {
			return fmt.Errorf("store: delete mapping: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("mapping %s: %w", id, issuing.ErrNotFound)
		}
		return s.cancelRuleAwards(ctx, tx, "mapping", id, a)
	})
}

// CreateParcours implements completion.Store.
func (s *DB) CreateParcours(ctx context.Context, p completion.Parcours, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO parcours (id, issuer, achievement_id, required, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
			p.ID, p.Issuer, p.AchievementID, p.Required, p.CreatedBy, micros(p.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("achievement %s already completes a parcours: %w", p.AchievementID, issuing.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create parcours: %w", err)
		}
		for i, m := range p.Members {
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO parcours_members (parcours_id, achievement_id, position) VALUES (?, ?, ?)"), p.ID, m, i); err != nil {
				if isUnique(err) {
					return fmt.Errorf("module %s is listed twice: %w", m, issuing.ErrConflict)
				}
				return fmt.Errorf("store: create parcours: %w", err)
			}
		}
		return s.audit(ctx, tx, a)
	})
}

func (s *DB) parcours(ctx context.Context, where string, args ...any) ([]completion.Parcours, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, issuer, achievement_id, required, created_by, created_at FROM parcours"+where+" ORDER BY created_at, id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: parcours: %w", err)
	}
	var out []completion.Parcours
	index := map[string]int{}
	for rows.Next() {
		var p completion.Parcours
		var at int64
		if err := rows.Scan(&p.ID, &p.Issuer, &p.AchievementID, &p.Required, &p.CreatedBy, &at); err != nil {
			rows.Close()
			return nil, err
		}
		p.CreatedAt = fromMicros(at)
		index[p.ID] = len(out)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	q := "SELECT m.parcours_id, m.achievement_id FROM parcours_members m"
	if where != "" {
		q += " JOIN parcours ON parcours.id = m.parcours_id" + where
	}
	rows, err = s.db.QueryContext(ctx, s.q(q+" ORDER BY m.parcours_id, m.position"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: parcours members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid, ach string
		if err := rows.Scan(&pid, &ach); err != nil {
			return nil, err
		}
		if i, ok := index[pid]; ok {
			out[i].Members = append(out[i].Members, ach)
		}
	}
	return out, rows.Err()
}

// Parcours implements completion.Store.
func (s *DB) Parcours(ctx context.Context, id string) (*completion.Parcours, error) {
	ps, err := s.parcours(ctx, " WHERE parcours.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("parcours %s: %w", id, issuing.ErrNotFound)
	}
	return &ps[0], nil
}

// ParcoursList implements completion.Store.
func (s *DB) ParcoursList(ctx context.Context, issuer string) ([]completion.Parcours, error) {
	if issuer == "" {
		return s.parcours(ctx, "")
	}
	return s.parcours(ctx, " WHERE parcours.issuer = ?", issuer)
}

// DeleteParcours implements completion.Store.
func (s *DB) DeleteParcours(ctx context.Context, id string, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM parcours_members WHERE parcours_id = ?"), id); err != nil {
			return fmt.Errorf("store: delete parcours: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM parcours WHERE id = ?"), id)
		if err != nil {
			return fmt.Errorf("store: delete parcours: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("parcours %s: %w", id, issuing.ErrNotFound)
		}
		return s.cancelRuleAwards(ctx, tx, "parcours", id, a)
	})
}

const awardCols = "learner, achievement_id, issuer, credential_id, state, reason, completion_key, name, evidence, error, attempts, created_at, issued_at"

func (s *DB) awards(ctx context.Context, query string, args ...any) ([]completion.Award, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("store: awards: %w", err)
	}
	defer rows.Close()
	var out []completion.Award
	for rows.Next() {
		var a completion.Award
		var ev string
		var created int64
		var issued sql.NullInt64
		if err := rows.Scan(&a.Learner, &a.AchievementID, &a.Issuer, &a.CredentialID, &a.State, &a.Reason, &a.CompletionKey, &a.Name, &ev,
			&a.Error, &a.Attempts, &created, &issued); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(ev), &a.Evidence); err != nil {
			return nil, fmt.Errorf("store: award %s: evidence: %w", a.CredentialID, err)
		}
		a.CreatedAt = fromMicros(created)
		if issued.Valid {
			a.IssuedAt = fromMicros(issued.Int64)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Awards implements completion.Store.
func (s *DB) Awards(ctx context.Context, learner string) ([]completion.Award, error) {
	return s.awards(ctx, "SELECT "+awardCols+" FROM completion_awards WHERE learner = ? ORDER BY created_at, achievement_id", learner)
}

// ClaimAwards implements completion.Store. The conditions are repeated on
// the outer UPDATE so that, of two nodes racing, PostgreSQL re-checks them
// on a row the other one just leased and leaves it.
func (s *DB) ClaimAwards(ctx context.Context, ids []string, limit int, now, until time.Time) ([]completion.Award, error) {
	claim := newID()
	if len(ids) > 0 {
		err := inChunks(ids, 500, func(part []string) error {
			args := []any{claim, micros(until), micros(now)}
			for _, id := range part {
				args = append(args, id)
			}
			_, err := s.db.ExecContext(ctx, s.q("UPDATE completion_awards SET claim = ?, lease_until = ? WHERE state = 'pending' AND lease_until < ? AND credential_id IN ("+marks(len(part))+")"), args...)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("store: claim awards: %w", err)
		}
	} else {
		var err error
		if s.dialect == Postgres {
			// SKIP LOCKED lets concurrent workers take the next rows
			// rather than queue behind each other's. The rows picked
			// become an array (an init plan, run once) that the update
			// finds through the unique index whatever the planner thinks
			// of the table: as a join, a plan cached while the table was
			// nearly empty turned into a scan per row picked (a claim of
			// 500 took a second at 10,000 rows).
			_, err = s.db.ExecContext(ctx, s.q(`UPDATE completion_awards SET claim = ?, lease_until = ?
				WHERE credential_id = ANY(ARRAY(SELECT credential_id FROM completion_awards
					WHERE state = 'pending' AND lease_until < ? ORDER BY created_at, credential_id LIMIT ? FOR UPDATE SKIP LOCKED))
				AND state = 'pending' AND lease_until < ?`), claim, micros(until), micros(now), limit, micros(now))
		} else {
			// The common table expression is evaluated once: a subquery
			// in IN may be run again for each row, picking other rows each
			// time. (SQLite has one writer at a time anyway.)
			_, err = s.db.ExecContext(ctx, s.q(`WITH picked AS (SELECT credential_id FROM completion_awards
				WHERE state = 'pending' AND lease_until < ? ORDER BY created_at, credential_id LIMIT ?)
				UPDATE completion_awards SET claim = ?, lease_until = ?
				WHERE credential_id IN (SELECT credential_id FROM picked) AND state = 'pending' AND lease_until < ?`), micros(now), limit, claim, micros(until), micros(now))
		}
		if err != nil {
			return nil, fmt.Errorf("store: claim awards: %w", err)
		}
	}
	return s.awards(ctx, "SELECT "+awardCols+" FROM completion_awards WHERE claim = ? AND state = 'pending' ORDER BY achievement_id, created_at, credential_id", claim)
}

func (s *DB) updateAwards(ctx context.Context, ids []string, set string, args ...any) error {
	return s.updateAwardsWhere(ctx, s.db, ids, set, "", args...)
}

// updateAwardsWhere is updateAwards, through ex (the database or a
// transaction), for the awards that also meet cond (SQL ending in AND).
func (s *DB) updateAwardsWhere(ctx context.Context, ex execer, ids []string, set, cond string, args ...any) error {
	return inChunks(ids, 500, func(part []string) error {
		a := slices.Clone(args)
		for _, id := range part {
			a = append(a, id)
		}
		_, err := ex.ExecContext(ctx, s.q("UPDATE completion_awards SET "+set+" WHERE "+cond+"credential_id IN ("+marks(len(part))+")"), a...)
		if err != nil {
			return fmt.Errorf("store: update awards: %w", err)
		}
		return nil
	})
}

// FinishAwards implements completion.Store. An award cancelled while it
// was being issued is noted issued when it was (its credential exists),
// and stays cancelled when it failed.
func (s *DB) FinishAwards(ctx context.Context, ids []string, state, reason string, at time.Time) error {
	if state != completion.AwardIssued && state != completion.AwardFailed {
		return errors.New("store: finish awards: state must be issued or failed")
	}
	if state == completion.AwardFailed {
		return s.updateAwardsWhere(ctx, s.db, ids, "state = ?, error = ?, issued_at = ?", onlyPending, state, reason, micros(at))
	}
	return s.updateAwards(ctx, ids, "state = ?, error = ?, issued_at = ?", state, reason, micros(at))
}

// IssueAwards implements completion.Store: the awards' credentials, their
// audit entries and the awards noted issued, in one transaction.
func (s *DB) IssueAwards(ctx context.Context, cs []issuing.Credential, audit []issuing.AuditEntry, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertAudited(ctx, tx, cs, audit); err != nil {
			return err
		}
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = c.ID
		}
		return s.updateAwardsWhere(ctx, tx, ids, "state = ?, error = '', issued_at = ?", "", completion.AwardIssued, micros(at))
	})
}

// ReleaseAwards implements completion.Store.
func (s *DB) ReleaseAwards(ctx context.Context, ids []string, reason string) error {
	return s.updateAwardsWhere(ctx, s.db, ids, "attempts = attempts + 1, error = ?", onlyPending, reason)
}

// ExistingCredentials implements completion.Store.
func (s *DB) ExistingCredentials(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	err := inChunks(ids, 500, func(part []string) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.q("SELECT id FROM credentials WHERE id IN ("+marks(len(part))+")"), args...)
		if err != nil {
			return fmt.Errorf("store: existing credentials: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}
