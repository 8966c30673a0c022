package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/keys"
)

var _ issuing.Store = (*DB)(nil)

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, issuing.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func (s *DB) audit(ctx context.Context, ex execer, a issuing.AuditEntry) error {
	if a.Action == "" {
		return nil
	}
	if a.At.IsZero() {
		a.At = time.Now()
	}
	_, err := ex.ExecContext(ctx, s.q("INSERT INTO audit (at, actor, action, issuer, target, detail) VALUES (?, ?, ?, ?, ?, ?)"),
		micros(a.At), a.Actor, a.Action, a.Issuer, a.Target, a.Detail)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Audit records one entry on its own.
func (s *DB) Audit(ctx context.Context, a issuing.AuditEntry) error { return s.audit(ctx, s.db, a) }

// AuditLog returns the latest entries, newest first; issuer "" means all.
func (s *DB) AuditLog(ctx context.Context, issuer string, limit int) ([]issuing.AuditEntry, error) {
	q := "SELECT at, actor, action, issuer, target, detail FROM audit"
	args := []any{}
	if issuer != "" {
		q += " WHERE issuer = ?"
		args = append(args, issuer)
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []issuing.AuditEntry
	for rows.Next() {
		var a issuing.AuditEntry
		var at int64
		if err := rows.Scan(&at, &a.Actor, &a.Action, &a.Issuer, &a.Target, &a.Detail); err != nil {
			return nil, err
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *DB) insertKeys(ctx context.Context, tx *sql.Tx, ks []issuing.Key) error {
	for _, k := range ks {
		var retired any
		if k.RetiredAt != nil {
			retired = micros(*k.RetiredAt)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO issuer_keys (id, issuer, purpose, alg, public_multibase, sealed, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
			k.ID, k.Issuer, k.Purpose, string(k.Alg), k.PublicMultibase, k.Sealed, micros(k.CreatedAt), retired); err != nil {
			if isUnique(err) {
				return fmt.Errorf("key %s: %w", k.ID, issuing.ErrConflict)
			}
			return fmt.Errorf("store: insert key: %w", err)
		}
	}
	return nil
}

// CreateIssuer implements issuing.Store.
func (s *DB) CreateIssuer(ctx context.Context, iss issuing.Issuer, ks []issuing.Key, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO issuers (slug, name, url, email, description, image_url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			iss.Slug, iss.Name, iss.URL, iss.Email, iss.Description, iss.ImageURL, micros(iss.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("issuer %q: %w", iss.Slug, issuing.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create issuer: %w", err)
		}
		if err := s.insertKeys(ctx, tx, ks); err != nil {
			return err
		}
		return s.audit(ctx, tx, a)
	})
}

const issuerCols = "slug, name, url, email, description, image_url, created_at"

func scanIssuer(sc interface{ Scan(...any) error }) (*issuing.Issuer, error) {
	var i issuing.Issuer
	var at int64
	if err := sc.Scan(&i.Slug, &i.Name, &i.URL, &i.Email, &i.Description, &i.ImageURL, &at); err != nil {
		return nil, err
	}
	i.CreatedAt = fromMicros(at)
	return &i, nil
}

// Issuer implements issuing.Store.
func (s *DB) Issuer(ctx context.Context, slug string) (*issuing.Issuer, error) {
	i, err := scanIssuer(s.db.QueryRowContext(ctx, s.q("SELECT "+issuerCols+" FROM issuers WHERE slug = ?"), slug))
	if err != nil {
		return nil, notFound(err, "issuer "+slug)
	}
	return i, nil
}

// Issuers implements issuing.Store.
func (s *DB) Issuers(ctx context.Context) ([]issuing.Issuer, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+issuerCols+" FROM issuers ORDER BY slug")
	if err != nil {
		return nil, fmt.Errorf("store: issuers: %w", err)
	}
	defer rows.Close()
	var out []issuing.Issuer
	for rows.Next() {
		i, err := scanIssuer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *i)
	}
	return out, rows.Err()
}

// Keys implements issuing.Store.
func (s *DB) Keys(ctx context.Context, issuer string) ([]issuing.Key, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT id, issuer, purpose, alg, public_multibase, sealed, created_at, retired_at FROM issuer_keys WHERE issuer = ? ORDER BY created_at, id"), issuer)
	if err != nil {
		return nil, fmt.Errorf("store: keys: %w", err)
	}
	defer rows.Close()
	var out []issuing.Key
	for rows.Next() {
		var k issuing.Key
		var alg string
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Issuer, &k.Purpose, &alg, &k.PublicMultibase, &k.Sealed, &created, &retired); err != nil {
			return nil, err
		}
		k.Alg = keys.Alg(alg)
		k.CreatedAt = fromMicros(created)
		if retired.Valid {
			t := fromMicros(retired.Int64)
			k.RetiredAt = &t
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RotateKeys implements issuing.Store.
func (s *DB) RotateKeys(ctx context.Context, issuer string, ks []issuing.Key, at time.Time, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, k := range ks {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE issuer_keys SET retired_at = ? WHERE issuer = ? AND purpose = ? AND retired_at IS NULL"), micros(at), issuer, k.Purpose); err != nil {
				return fmt.Errorf("store: retire keys: %w", err)
			}
		}
		if err := s.insertKeys(ctx, tx, ks); err != nil {
			return err
		}
		return s.audit(ctx, tx, a)
	})
}

// achievementName is the name in an achievement's JSON, kept in its own
// column for listings.
func achievementName(data []byte) string {
	var a struct {
		Name string `json:"name"`
	}
	json.Unmarshal(data, &a)
	return a.Name
}

// CreateAchievement implements issuing.Store.
func (s *DB) CreateAchievement(ctx context.Context, a issuing.Achievement, e issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO achievements (id, version, issuer, data, name, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
			a.ID, a.Version, a.Issuer, string(a.Data), achievementName(a.Data), micros(a.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("achievement %s: %w", a.ID, issuing.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create achievement: %w", err)
		}
		if a.Key != "" {
			_, err := tx.ExecContext(ctx, s.q("INSERT INTO achievement_keys (issuer, key, achievement_id) VALUES (?, ?, ?)"), a.Issuer, a.Key, a.ID)
			if isUnique(err) {
				return fmt.Errorf("achievement key %q of %s: %w", a.Key, a.Issuer, issuing.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("store: create achievement key: %w", err)
			}
		}
		return s.audit(ctx, tx, e)
	})
}

// AchievementByKey implements issuing.Store.
func (s *DB) AchievementByKey(ctx context.Context, issuer, key string) (*issuing.Achievement, error) {
	a, err := scanAchievement(s.db.QueryRowContext(ctx, s.q(`SELECT a.id, a.version, a.issuer, a.data, a.created_at
		FROM achievement_keys k JOIN achievements a ON a.id = k.achievement_id
		WHERE k.issuer = ? AND k.key = ? ORDER BY a.version DESC LIMIT 1`), issuer, key))
	if err != nil {
		return nil, notFound(err, "achievement with key "+key)
	}
	a.Key = key
	return a, nil
}

func scanAchievement(sc interface{ Scan(...any) error }) (*issuing.Achievement, error) {
	var a issuing.Achievement
	var data string
	var at int64
	if err := sc.Scan(&a.ID, &a.Version, &a.Issuer, &data, &at); err != nil {
		return nil, err
	}
	a.Data = json.RawMessage(data)
	a.CreatedAt = fromMicros(at)
	return &a, nil
}

// Achievement implements issuing.Store.
func (s *DB) Achievement(ctx context.Context, id string) (*issuing.Achievement, error) {
	a, err := scanAchievement(s.db.QueryRowContext(ctx, s.q("SELECT id, version, issuer, data, created_at FROM achievements WHERE id = ? ORDER BY version DESC LIMIT 1"), id))
	if err != nil {
		return nil, notFound(err, "achievement "+id)
	}
	return a, nil
}

// AchievementVersion implements issuing.Store.
func (s *DB) AchievementVersion(ctx context.Context, id string, version int) (*issuing.Achievement, error) {
	a, err := scanAchievement(s.db.QueryRowContext(ctx, s.q("SELECT id, version, issuer, data, created_at FROM achievements WHERE id = ? AND version = ?"), id, version))
	if err != nil {
		return nil, notFound(err, fmt.Sprintf("achievement %s version %d", id, version))
	}
	return a, nil
}

// Achievements implements issuing.Store: the latest version of each.
func (s *DB) Achievements(ctx context.Context, issuer string) ([]issuing.Achievement, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT a.id, a.version, a.issuer, a.data, a.created_at FROM achievements a
		WHERE a.issuer = ? AND a.version = (SELECT MAX(b.version) FROM achievements b WHERE b.id = a.id)
		ORDER BY a.created_at, a.id`), issuer)
	if err != nil {
		return nil, fmt.Errorf("store: achievements: %w", err)
	}
	defer rows.Close()
	var out []issuing.Achievement
	for rows.Next() {
		a, err := scanAchievement(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// UpdateAchievement implements issuing.Store.
func (s *DB) UpdateAchievement(ctx context.Context, a issuing.Achievement, e issuing.AuditEntry) (int, error) {
	var version int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var used int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(version), 0) FROM achievements WHERE id = ?"), a.ID).Scan(&version); err != nil {
			return fmt.Errorf("store: update achievement: %w", err)
		}
		if version == 0 {
			return fmt.Errorf("achievement %s: %w", a.ID, issuing.ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM credentials WHERE achievement_id = ? AND achievement_version = ?"), a.ID, version).Scan(&used); err != nil {
			return fmt.Errorf("store: update achievement: %w", err)
		}
		if used == 0 {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE achievements SET data = ?, name = ? WHERE id = ? AND version = ?"), string(a.Data), achievementName(a.Data), a.ID, version); err != nil {
				return fmt.Errorf("store: update achievement: %w", err)
			}
		} else {
			version++
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO achievements (id, version, issuer, data, name, created_at) VALUES (?, ?, ?, ?, ?, ?)"),
				a.ID, version, a.Issuer, string(a.Data), achievementName(a.Data), micros(a.CreatedAt)); err != nil {
				if isUnique(err) {
					return fmt.Errorf("achievement %s version %d: %w", a.ID, version, issuing.ErrConflict)
				}
				return fmt.Errorf("store: update achievement: %w", err)
			}
		}
		return s.audit(ctx, tx, e)
	})
	return version, err
}

// StatusUsage implements issuing.Store.
func (s *DB) StatusUsage(ctx context.Context, issuer string) (int, int, error) {
	var list int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COALESCE(MAX(status_list), 0) FROM credentials WHERE issuer = ?"), issuer).Scan(&list); err != nil {
		return 0, 0, fmt.Errorf("store: status usage: %w", err)
	}
	if list == 0 {
		return 0, 0, nil
	}
	var used int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM credentials WHERE issuer = ? AND status_list = ?"), issuer, list).Scan(&used); err != nil {
		return 0, 0, fmt.Errorf("store: status usage: %w", err)
	}
	return list, used, nil
}

// UsedStatusIndexes implements issuing.Store.
func (s *DB) UsedStatusIndexes(ctx context.Context, issuer string, list int) ([]int, error) {
	return s.ints(ctx, "SELECT status_index FROM credentials WHERE issuer = ? AND status_list = ?", issuer, list)
}

// FlaggedIndexes implements issuing.Store.
func (s *DB) FlaggedIndexes(ctx context.Context, issuer string, list int) ([]int, error) {
	return s.ints(ctx, "SELECT status_index FROM credentials WHERE issuer = ? AND status_list = ? AND state <> 'active'", issuer, list)
}

func (s *DB) ints(ctx context.Context, q string, args ...any) ([]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const credentialCols = "id, issuer, achievement_id, achievement_version, recipient_email, recipient_name, recipient_did, status_list, status_index, state, reason, signed, job_id, job_row, created_at"

// insertBatch is how many credentials go into one INSERT statement: large
// enough to cut round trips, small enough for SQLite's variable limit.
const insertBatch = 200

// InsertCredentials implements issuing.Store.
func (s *DB) InsertCredentials(ctx context.Context, cs []issuing.Credential, p *issuing.Progress, audit []issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertAudited(ctx, tx, cs, audit); err != nil {
			return err
		}
		if p == nil {
			return nil
		}
		return s.jobProgress(ctx, tx, p)
	})
}

// insertAudited inserts credentials and their audit entries within tx.
func (s *DB) insertAudited(ctx context.Context, tx *sql.Tx, cs []issuing.Credential, audit []issuing.AuditEntry) error {
	if err := s.insertCredentials(ctx, tx, cs); err != nil {
		return err
	}
	for _, a := range audit {
		if err := s.audit(ctx, tx, a); err != nil {
			return err
		}
	}
	return nil
}

// insertCredentials inserts credentials in batches within tx.
func (s *DB) insertCredentials(ctx context.Context, tx *sql.Tx, cs []issuing.Credential) error {
	for start := 0; start < len(cs); start += insertBatch {
		end := min(start+insertBatch, len(cs))
		var b strings.Builder
		b.WriteString("INSERT INTO credentials (" + credentialCols + ") VALUES ")
		args := make([]any, 0, (end-start)*15)
		for i, c := range cs[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			var jobID, jobRow any
			if c.JobID != "" {
				jobID, jobRow = c.JobID, c.JobRow
			}
			args = append(args, c.ID, c.Issuer, c.AchievementID, c.AchievementVersion, c.RecipientEmail, c.RecipientName, c.RecipientDID,
				c.StatusList, c.StatusIndex, c.State, c.Reason, string(c.Signed), jobID, jobRow, micros(c.CreatedAt))
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			if isUnique(err) {
				return fmt.Errorf("insert credentials: %w", issuing.ErrConflict)
			}
			return fmt.Errorf("store: insert credentials: %w", err)
		}
	}
	return nil
}

// addProgress records a chunk of a job or an attestation batch (table
// jobs or attest_batches) within tx: the counts, the chunk's row errors
// added to the stored list (the first thousand reasons are kept; the
// counts, apart, stay exact) and the state, done once finish. It returns
// sql.ErrNoRows when there is no row id.
func addProgress[E any](ctx context.Context, s *DB, tx *sql.Tx, table, id string, done, failed int, add []E, finish bool) error {
	var raw string
	if err := tx.QueryRowContext(ctx, s.q("SELECT errors FROM "+table+" WHERE id = ?"), id).Scan(&raw); err != nil {
		return err
	}
	var errs []E
	json.Unmarshal([]byte(raw), &errs)
	for _, e := range add {
		if len(errs) < 1000 {
			errs = append(errs, e)
		}
	}
	eb := []byte("[]")
	if errs != nil {
		eb, _ = json.Marshal(errs)
	}
	// Jobs and batches name their states alike.
	state := issuing.JobRunning
	if finish {
		state = issuing.JobDone
	}
	_, err := tx.ExecContext(ctx, s.q("UPDATE "+table+" SET done = done + ?, failed = failed + ?, errors = ?, state = ?, updated_at = ? WHERE id = ?"),
		done, failed, string(eb), state, micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("store: %s progress: %w", table, err)
	}
	return nil
}

// jobProgress records a chunk of a job within tx.
func (s *DB) jobProgress(ctx context.Context, tx *sql.Tx, p *issuing.Progress) error {
	err := addProgress(ctx, s, tx, "jobs", p.JobID, p.Done, p.Failed, p.Errors, p.Finish)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(err, "job "+p.JobID)
	}
	return err
}

func scanCredential(sc interface{ Scan(...any) error }) (*issuing.Credential, error) {
	var c issuing.Credential
	var signed string
	var jobID sql.NullString
	var jobRow sql.NullInt64
	var at int64
	if err := sc.Scan(&c.ID, &c.Issuer, &c.AchievementID, &c.AchievementVersion, &c.RecipientEmail, &c.RecipientName, &c.RecipientDID,
		&c.StatusList, &c.StatusIndex, &c.State, &c.Reason, &signed, &jobID, &jobRow, &at); err != nil {
		return nil, err
	}
	c.Signed = json.RawMessage(signed)
	c.JobID = jobID.String
	c.JobRow = int(jobRow.Int64)
	c.CreatedAt = fromMicros(at)
	return &c, nil
}

// Credential implements issuing.Store.
func (s *DB) Credential(ctx context.Context, id string) (*issuing.Credential, error) {
	c, err := scanCredential(s.db.QueryRowContext(ctx, s.q("SELECT "+credentialCols+" FROM credentials WHERE id = ?"), id))
	if err != nil {
		return nil, notFound(err, "credential "+id)
	}
	return c, nil
}

// Credentials implements issuing.Store, newest first.
func (s *DB) Credentials(ctx context.Context, q issuing.CredentialQuery) ([]issuing.Credential, int, error) {
	var where []string
	var args []any
	if q.Issuer != "" {
		where = append(where, "issuer = ?")
		args = append(args, q.Issuer)
	}
	if q.AchievementID != "" {
		where = append(where, "achievement_id = ?")
		args = append(args, q.AchievementID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM credentials"+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count credentials: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+credentialCols+" FROM credentials"+cond+" ORDER BY created_at DESC, id LIMIT ? OFFSET ?"), append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: credentials: %w", err)
	}
	defer rows.Close()
	var out []issuing.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *c)
	}
	return out, total, rows.Err()
}

// SetCredentialState implements issuing.Store.
func (s *DB) SetCredentialState(ctx context.Context, id, state, reason string, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var issuer string
		var list int
		if err := tx.QueryRowContext(ctx, s.q("SELECT issuer, status_list FROM credentials WHERE id = ?"), id).Scan(&issuer, &list); err != nil {
			return notFound(err, "credential "+id)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE credentials SET state = ?, reason = ? WHERE id = ?"), state, reason, id); err != nil {
			return fmt.Errorf("store: set state: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE status_lists SET version = version + 1 WHERE issuer = ? AND list = ?"), issuer, list)
		if err != nil {
			return fmt.Errorf("store: status list version: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO status_lists (issuer, list, version) VALUES (?, ?, 1)"), issuer, list); err != nil {
				return fmt.Errorf("store: status list version: %w", err)
			}
		}
		return s.audit(ctx, tx, a)
	})
}

// StatusList implements issuing.Store.
func (s *DB) StatusList(ctx context.Context, issuer string, list int) (*issuing.StatusList, error) {
	l := &issuing.StatusList{Issuer: issuer, Number: list}
	var signed sql.NullString
	err := s.db.QueryRowContext(ctx, s.q("SELECT version, signed, signed_version FROM status_lists WHERE issuer = ? AND list = ?"), issuer, list).
		Scan(&l.Version, &signed, &l.SignedVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: status list: %w", err)
	}
	if signed.Valid {
		l.Signed = json.RawMessage(signed.String)
	}
	return l, nil
}

// SaveSignedStatusList implements issuing.Store.
func (s *DB) SaveSignedStatusList(ctx context.Context, issuer string, list, version int, signed []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE status_lists SET signed = ?, signed_version = ? WHERE issuer = ? AND list = ? AND signed_version <= ? AND version = ?"),
			string(signed), version, issuer, list, version, version)
		if err != nil {
			return fmt.Errorf("store: save status list: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 || version > 0 {
			return nil
		}
		// Version 0: the list was never changed and has no row yet.
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO status_lists (issuer, list, version, signed, signed_version) VALUES (?, ?, 0, ?, 0)"), issuer, list, string(signed))
		if err != nil && !isUnique(err) {
			return fmt.Errorf("store: save status list: %w", err)
		}
		return nil
	})
}

const jobCols = "id, issuer, state, total, done, failed, errors, payload, created_by, created_at, updated_at, lease_until"

func scanJob(sc interface{ Scan(...any) error }) (*issuing.Job, error) {
	var j issuing.Job
	var errs, payload string
	var created, updated, lease int64
	if err := sc.Scan(&j.ID, &j.Issuer, &j.State, &j.Total, &j.Done, &j.Failed, &errs, &payload, &j.CreatedBy, &created, &updated, &lease); err != nil {
		return nil, err
	}
	json.Unmarshal([]byte(errs), &j.Errors)
	j.Payload = json.RawMessage(payload)
	j.CreatedAt, j.UpdatedAt, j.LeaseUntil = fromMicros(created), fromMicros(updated), fromMicros(lease)
	return &j, nil
}

// CreateJob implements issuing.Store.
func (s *DB) CreateJob(ctx context.Context, j issuing.Job, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO jobs (id, issuer, state, total, payload, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
			j.ID, j.Issuer, j.State, j.Total, string(j.Payload), j.CreatedBy, micros(j.CreatedAt), micros(j.CreatedAt))
		if err != nil {
			return fmt.Errorf("store: create job: %w", err)
		}
		return s.audit(ctx, tx, a)
	})
}

// Job implements issuing.Store.
func (s *DB) Job(ctx context.Context, id string) (*issuing.Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, s.q("SELECT "+jobCols+" FROM jobs WHERE id = ?"), id))
	if err != nil {
		return nil, notFound(err, "job "+id)
	}
	return j, nil
}

// ClaimJob implements issuing.Store.
func (s *DB) ClaimJob(ctx context.Context, now, until time.Time) (*issuing.Job, error) {
	id, err := s.claimLeased(ctx, "jobs", now, until)
	if errors.Is(err, errNothingToClaim) {
		return nil, fmt.Errorf("job to claim: %w", issuing.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim job: %w", err)
	}
	return s.Job(ctx, id)
}

// errNothingToClaim says no leased work is waiting.
var errNothingToClaim = errors.New("nothing to claim")

// claimLeased takes the oldest queued row of a leased work table (jobs,
// attestation batches), or a running one whose lease ran out, and leases
// it until `until`. The conditional UPDATE is the claim: of two nodes
// racing for one row, only one sees it changed.
func (s *DB) claimLeased(ctx context.Context, table string, now, until time.Time) (string, error) {
	for range 5 {
		var id string
		var lease int64
		err := s.db.QueryRowContext(ctx, s.q("SELECT id, lease_until FROM "+table+" WHERE (state = 'queued') OR (state = 'running' AND lease_until < ?) ORDER BY created_at LIMIT 1"), micros(now)).Scan(&id, &lease)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errNothingToClaim
		}
		if err != nil {
			return "", err
		}
		res, err := s.db.ExecContext(ctx, s.q("UPDATE "+table+" SET state = 'running', lease_until = ?, updated_at = ? WHERE id = ? AND lease_until = ? AND state IN ('queued', 'running')"),
			micros(until), micros(now), id, lease)
		if err != nil {
			return "", err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return id, nil
		}
	}
	return "", errNothingToClaim
}

// ExtendLease keeps a claimed job while its worker is alive.
func (s *DB) ExtendLease(ctx context.Context, id string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running'"), micros(until), id)
	if err != nil {
		return fmt.Errorf("store: extend lease: %w", err)
	}
	return nil
}

// FailJob implements issuing.Store.
func (s *DB) FailJob(ctx context.Context, id string, e issuing.RowError) error {
	eb, _ := json.Marshal([]issuing.RowError{e})
	_, err := s.db.ExecContext(ctx, s.q("UPDATE jobs SET state = 'failed', errors = ?, updated_at = ? WHERE id = ?"), string(eb), micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("store: fail job: %w", err)
	}
	return nil
}

// PutBlob implements issuing.Store; storing the same bytes twice is fine.
func (s *DB) PutBlob(ctx context.Context, b issuing.Blob) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO blobs (sha256, media_type, size, name, created_at) VALUES (?, ?, ?, ?, ?)"),
		b.SHA256, b.MediaType, b.Size, b.Name, micros(b.CreatedAt))
	if err != nil && !isUnique(err) {
		return fmt.Errorf("store: put blob: %w", err)
	}
	return nil
}

// Blob implements issuing.Store.
func (s *DB) Blob(ctx context.Context, sha string) (*issuing.Blob, error) {
	var b issuing.Blob
	var at int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT sha256, media_type, size, name, created_at FROM blobs WHERE sha256 = ?"), sha).Scan(&b.SHA256, &b.MediaType, &b.Size, &b.Name, &at)
	if err != nil {
		return nil, notFound(err, "evidence file "+sha)
	}
	b.CreatedAt = fromMicros(at)
	return &b, nil
}
