package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
)

var _ competency.Store = (*DB)(nil)

const frameworkCols = "id, version, title, content_hash, source, items, created_by, created_at, owner"

func scanFramework(sc interface{ Scan(...any) error }, withData bool) (competency.Record, error) {
	var r competency.Record
	var at int64
	dst := []any{&r.ID, &r.Version, &r.Title, &r.Hash, &r.Source, &r.Items, &r.CreatedBy, &at, &r.Owner}
	var data string
	if withData {
		dst = append(dst, &data)
	}
	if err := sc.Scan(dst...); err != nil {
		return r, err
	}
	r.CreatedAt = fromMicros(at)
	if withData {
		r.Data = []byte(data)
	}
	return r, nil
}

// AddFrameworkVersion implements competency.Store. Two imports racing for
// the same next version meet on the primary key; the loser reads again, and
// allow sees the version that won, so an owner check cannot be raced.
func (s *DB) AddFrameworkVersion(ctx context.Context, rec competency.Record, allow func(latest competency.Record) error) (competency.Record, bool, error) {
	for attempt := 0; ; attempt++ {
		var out competency.Record
		var refused error
		created := false
		err := s.tx(ctx, func(tx *sql.Tx) error {
			cur, err := scanFramework(tx.QueryRowContext(ctx, s.q("SELECT "+frameworkCols+" FROM frameworks WHERE id = ? ORDER BY version DESC LIMIT 1"), rec.ID), false)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				cur.Version = 0
			case err != nil:
				return fmt.Errorf("store: latest framework: %w", err)
			case cur.Hash == rec.Hash:
				out = cur
				return nil
			default:
				if allow != nil {
					if refused = allow(cur); refused != nil {
						return refused
					}
				}
				// The owner is the first importer's, whoever adds a version.
				rec.Owner = cur.Owner
			}
			rec.Version = cur.Version + 1
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO frameworks ("+frameworkCols+", data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
				rec.ID, rec.Version, rec.Title, rec.Hash, rec.Source, rec.Items, rec.CreatedBy, micros(rec.CreatedAt), rec.Owner, string(rec.Data)); err != nil {
				return err
			}
			out, created = rec, true
			out.Data = nil
			return nil
		})
		if isUnique(err) && attempt < 3 {
			continue
		}
		if err != nil {
			if refused != nil {
				return competency.Record{}, false, refused
			}
			return competency.Record{}, false, fmt.Errorf("store: add framework version: %w", err)
		}
		return out, created, nil
	}
}

// LatestFrameworks implements competency.Store.
func (s *DB) LatestFrameworks(ctx context.Context) ([]competency.Record, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+frameworkCols+" FROM frameworks f WHERE version = (SELECT MAX(version) FROM frameworks g WHERE g.id = f.id) ORDER BY title, id")
	if err != nil {
		return nil, fmt.Errorf("store: latest frameworks: %w", err)
	}
	return collectFrameworks(rows)
}

func collectFrameworks(rows *sql.Rows) ([]competency.Record, error) {
	defer rows.Close()
	var out []competency.Record
	for rows.Next() {
		r, err := scanFramework(rows, false)
		if err != nil {
			return nil, fmt.Errorf("store: frameworks: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FrameworkVersion implements competency.Store.
func (s *DB) FrameworkVersion(ctx context.Context, id string, version int) (*competency.Record, error) {
	q, args := "SELECT "+frameworkCols+", data FROM frameworks WHERE id = ? AND version = ?", []any{id, version}
	if version <= 0 {
		q, args = "SELECT "+frameworkCols+", data FROM frameworks WHERE id = ? ORDER BY version DESC LIMIT 1", []any{id}
	}
	r, err := scanFramework(s.db.QueryRowContext(ctx, s.q(q), args...), true)
	if errors.Is(err, sql.ErrNoRows) {
		if version > 0 {
			return nil, fmt.Errorf("framework %s version %d: %w", id, version, competency.ErrNotFound)
		}
		return nil, fmt.Errorf("framework %s: %w", id, competency.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: framework: %w", err)
	}
	return &r, nil
}

// FrameworkVersions implements competency.Store.
func (s *DB) FrameworkVersions(ctx context.Context, id string) ([]competency.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+frameworkCols+" FROM frameworks WHERE id = ? ORDER BY version DESC"), id)
	if err != nil {
		return nil, fmt.Errorf("store: framework versions: %w", err)
	}
	out, err := collectFrameworks(rows)
	if err == nil && len(out) == 0 {
		return nil, fmt.Errorf("framework %s: %w", id, competency.ErrNotFound)
	}
	return out, err
}

const factCols = "c.id, c.issuer, c.achievement_id, c.achievement_version, c.recipient_email, c.state, c.created_at, c.signed, " +
	"COALESCE(l.academie, ''), COALESCE(l.departement, ''), COALESCE(l.discipline, '')"

func collectFacts(rows *sql.Rows) ([]competency.CredentialFact, error) {
	defer rows.Close()
	var out []competency.CredentialFact
	for rows.Next() {
		var f competency.CredentialFact
		var at int64
		var signed string
		if err := rows.Scan(&f.ID, &f.Issuer, &f.AchievementID, &f.AchievementVersion, &f.Email, &f.State, &at, &signed,
			&f.Academie, &f.Departement, &f.Discipline); err != nil {
			return nil, fmt.Errorf("store: credential facts: %w", err)
		}
		f.CreatedAt, f.Signed = fromMicros(at), []byte(signed)
		out = append(out, f)
	}
	return out, rows.Err()
}

// LearnerCredentials implements competency.Store.
func (s *DB) LearnerCredentials(ctx context.Context, email string) ([]competency.CredentialFact, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+factCols+" FROM credentials c LEFT JOIN learners l ON l.email = c.recipient_email WHERE c.recipient_email = ? ORDER BY c.created_at, c.id"), email)
	if err != nil {
		return nil, fmt.Errorf("store: learner credentials: %w", err)
	}
	return collectFacts(rows)
}

// CredentialFacts implements competency.Store: without the signed
// documents, which SignedCredentials reads when needed.
func (s *DB) CredentialFacts(ctx context.Context, issuer string) ([]competency.CredentialFact, error) {
	q := "SELECT " + strings.Replace(factCols, "c.signed", "''", 1) + " FROM credentials c LEFT JOIN learners l ON l.email = c.recipient_email WHERE c.state <> 'revoked'"
	var args []any
	if issuer != "" {
		q += " AND c.issuer = ?"
		args = append(args, issuer)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY c.created_at, c.id"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: credential facts: %w", err)
	}
	facts, err := collectFacts(rows)
	for i := range facts {
		facts[i].Signed = nil
	}
	return facts, err
}

// SignedCredentials implements competency.Store.
func (s *DB) SignedCredentials(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.db.QueryContext(ctx, s.q("SELECT id, signed FROM credentials WHERE id IN (?"+strings.Repeat(", ?", len(chunk)-1)+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("store: signed credentials: %w", err)
		}
		for rows.Next() {
			var id, signed string
			if err := rows.Scan(&id, &signed); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: signed credentials: %w", err)
			}
			out[id] = []byte(signed)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: signed credentials: %w", err)
		}
	}
	return out, nil
}

// SetLearnerAttributes implements competency.Store.
func (s *DB) SetLearnerAttributes(ctx context.Context, l competency.Learner) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO learners (email, name, academie, departement, discipline, updated_at) VALUES (?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (email) DO UPDATE SET name = excluded.name, academie = excluded.academie, departement = excluded.departement, discipline = excluded.discipline, updated_at = excluded.updated_at"),
		l.Email, l.Name, l.Academie, l.Departement, l.Discipline, micros(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: save learner: %w", err)
	}
	return nil
}

// LearnerAttributes implements competency.Store.
func (s *DB) LearnerAttributes(ctx context.Context, email string) (*competency.Learner, error) {
	var l competency.Learner
	var at int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT email, name, academie, departement, discipline, updated_at FROM learners WHERE email = ?"), email).
		Scan(&l.Email, &l.Name, &l.Academie, &l.Departement, &l.Discipline, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("learner %s: %w", email, competency.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: learner: %w", err)
	}
	l.UpdatedAt = fromMicros(at)
	return &l, nil
}

const pendingCols = "id, issuer, achievement_id, achievement_version, request, proposed_by, proposer, state, decided_by, reason, credentials, created_at, decided_at"

func scanPending(sc interface{ Scan(...any) error }) (*issuing.PendingAward, error) {
	var p issuing.PendingAward
	var req, creds string
	var at, decided int64
	if err := sc.Scan(&p.ID, &p.Issuer, &p.AchievementID, &p.AchievementVersion, &req, &p.ProposedBy, &p.Proposer, &p.State,
		&p.DecidedBy, &p.Reason, &creds, &at, &decided); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(req), &p.Request); err != nil {
		return nil, fmt.Errorf("store: pending award %s: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(creds), &p.Credentials); err != nil {
		return nil, fmt.Errorf("store: pending award %s: %w", p.ID, err)
	}
	p.CreatedAt, p.DecidedAt = fromMicros(at), fromMicros(decided)
	return &p, nil
}

// CreatePendingAward implements issuing.ApprovalStore.
func (s *DB) CreatePendingAward(ctx context.Context, p issuing.PendingAward, a issuing.AuditEntry) error {
	req, err := json.Marshal(p.Request)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO pending_awards ("+pendingCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			p.ID, p.Issuer, p.AchievementID, p.AchievementVersion, string(req), p.ProposedBy, p.Proposer, p.State, p.DecidedBy, p.Reason, "[]",
			micros(p.CreatedAt), micros(p.DecidedAt)); err != nil {
			return fmt.Errorf("store: create pending award: %w", err)
		}
		return s.audit(ctx, tx, a)
	})
}

// PendingAward implements issuing.ApprovalStore.
func (s *DB) PendingAward(ctx context.Context, id string) (*issuing.PendingAward, error) {
	p, err := scanPending(s.db.QueryRowContext(ctx, s.q("SELECT "+pendingCols+" FROM pending_awards WHERE id = ?"), id))
	if err != nil {
		return nil, notFound(err, "pending award "+id)
	}
	return p, nil
}

// PendingAwards implements issuing.ApprovalStore.
func (s *DB) PendingAwards(ctx context.Context, issuer, state string) ([]issuing.PendingAward, error) {
	q, args := "SELECT "+pendingCols+" FROM pending_awards WHERE issuer = ?", []any{issuer}
	if state != "" {
		q += " AND state = ?"
		args = append(args, state)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY created_at, id LIMIT 1000"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: pending awards: %w", err)
	}
	defer rows.Close()
	var out []issuing.PendingAward
	for rows.Next() {
		p, err := scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("store: pending awards: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// DecidePendingAward implements issuing.ApprovalStore: the state moves
// only from pending, and the credentials of an approval are inserted in
// the same transaction.
func (s *DB) DecidePendingAward(ctx context.Context, p issuing.PendingAward, creds []issuing.Credential, audit []issuing.AuditEntry) error {
	ids, _ := json.Marshal(p.Credentials)
	if p.Credentials == nil {
		ids = []byte("[]")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE pending_awards SET state = ?, decided_by = ?, reason = ?, credentials = ?, decided_at = ? WHERE id = ? AND state = ?"),
			p.State, p.DecidedBy, p.Reason, string(ids), micros(p.DecidedAt), p.ID, issuing.PendingWaiting)
		if err != nil {
			return fmt.Errorf("store: decide pending award: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("pending award %s: %w", p.ID, issuing.ErrAlreadyDecided)
		}
		return s.insertAudited(ctx, tx, creds, audit)
	})
}
