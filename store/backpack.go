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

	"github.com/insigne/insigne/backpack"
)

var _ backpack.Store = (*DB)(nil)

func bpNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, backpack.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// inList returns "IN (?, ?…)" for n values, or a condition that is never
// true when there are none.
func inList(col string, n int) string {
	if n == 0 {
		return "1 = 0"
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// AddLearnerEmail implements backpack.Store: a new pending address, or a
// new link for one still pending. A verified address stays as it is.
func (s *DB) AddLearnerEmail(ctx context.Context, e backpack.Email) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var verified int64
		err := tx.QueryRowContext(ctx, s.q("SELECT verified_at FROM learner_emails WHERE user_id = ? AND email = ?"), e.UserID, e.Email).Scan(&verified)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q("INSERT INTO learner_emails (user_id, email, token_hash, expires_at, verified_at, created_at) VALUES (?, ?, ?, ?, 0, ?)"),
				e.UserID, e.Email, e.TokenHash, micros(e.ExpiresAt), micros(e.CreatedAt))
		case err != nil:
		case verified > 0:
			return fmt.Errorf("address %s is already verified: %w", e.Email, backpack.ErrConflict)
		default:
			_, err = tx.ExecContext(ctx, s.q("UPDATE learner_emails SET token_hash = ?, expires_at = ? WHERE user_id = ? AND email = ?"),
				e.TokenHash, micros(e.ExpiresAt), e.UserID, e.Email)
		}
		if err != nil {
			return fmt.Errorf("store: add address: %w", err)
		}
		return nil
	})
}

// LearnerEmails implements backpack.Store.
func (s *DB) LearnerEmails(ctx context.Context, userID string) ([]backpack.Email, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT user_id, email, expires_at, verified_at, created_at FROM learner_emails WHERE user_id = ? ORDER BY created_at"), userID)
	if err != nil {
		return nil, fmt.Errorf("store: addresses: %w", err)
	}
	defer rows.Close()
	var out []backpack.Email
	for rows.Next() {
		var e backpack.Email
		var exp, ver, cr int64
		if err := rows.Scan(&e.UserID, &e.Email, &exp, &ver, &cr); err != nil {
			return nil, err
		}
		e.ExpiresAt, e.VerifiedAt, e.CreatedAt = fromMicros(exp), fromMicros(ver), fromMicros(cr)
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyLearnerEmail implements backpack.Store.
func (s *DB) VerifyLearnerEmail(ctx context.Context, tokenHash string, now time.Time) (backpack.Email, error) {
	var e backpack.Email
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var exp, cr int64
		err := tx.QueryRowContext(ctx, s.q("SELECT user_id, email, expires_at, created_at FROM learner_emails WHERE token_hash = ? AND verified_at = 0"), tokenHash).
			Scan(&e.UserID, &e.Email, &exp, &cr)
		if err != nil {
			return bpNotFound(err, "verification link")
		}
		if !now.Before(fromMicros(exp)) {
			return fmt.Errorf("verification link expired: %w", backpack.ErrNotFound)
		}
		var owner string
		err = tx.QueryRowContext(ctx, s.q("SELECT id FROM users WHERE email = ? AND id <> ?"), e.Email, e.UserID).Scan(&owner)
		if err == nil {
			return fmt.Errorf("address %s is another account's: %w", e.Email, backpack.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, s.q("UPDATE learner_emails SET verified_at = ?, token_hash = '' WHERE user_id = ? AND email = ?"), micros(now), e.UserID, e.Email)
		if isUnique(err) {
			return fmt.Errorf("address %s is another learner's: %w", e.Email, backpack.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: verify address: %w", err)
		}
		e.VerifiedAt, e.ExpiresAt, e.CreatedAt = now, fromMicros(exp), fromMicros(cr)
		return nil
	})
	return e, err
}

// RemoveLearnerEmail implements backpack.Store.
func (s *DB) RemoveLearnerEmail(ctx context.Context, userID, email string) error {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM learner_emails WHERE user_id = ? AND email = ?"), userID, email)
	if err != nil {
		return fmt.Errorf("store: remove address: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("address %s: %w", email, backpack.ErrNotFound)
	}
	return nil
}

// LearnerIdentities implements backpack.Store: the account's address and
// the verified further ones, in one query.
func (s *DB) LearnerIdentities(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT email FROM users WHERE id = ? AND email IS NOT NULL
		UNION SELECT email FROM learner_emails WHERE user_id = ? AND verified_at > 0`), userID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: identities: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AccountEmail implements backpack.Store.
func (s *DB) AccountEmail(ctx context.Context, userID string) (string, error) {
	var email sql.NullString
	if err := s.db.QueryRowContext(ctx, s.q("SELECT email FROM users WHERE id = ?"), userID).Scan(&email); err != nil {
		return "", bpNotFound(err, "user "+userID)
	}
	return email.String, nil
}

// holdingCols are the columns both halves of a holdings query give.
const issuedHoldingSelect = `SELECT c.id AS id, 'issued' AS kind, '' AS credential_id, '' AS name, c.issuer AS issuer, i.name AS issuer_name,
	'' AS format, '' AS source_url, '' AS verdict, c.state AS status, c.created_at AS created_at, 0 AS verified_at, a.name AS achname%s
	FROM credentials c JOIN issuers i ON i.slug = c.issuer
	JOIN achievements a ON a.id = c.achievement_id AND a.version = c.achievement_version`

const importedHoldingSelect = `SELECT b.id AS id, 'imported' AS kind, b.credential_id, b.name, b.issuer_id AS issuer, b.issuer_name, b.format, b.source_url,
	b.verdict, b.status, b.created_at, b.verified_at, '' AS achname%s
	FROM backpack_items b`

func scanHolding(sc interface{ Scan(...any) error }, extra ...any) (backpack.Item, error) {
	var it backpack.Item
	var issuer, achName string
	var created, verified int64
	dest := append([]any{&it.ID, &it.Kind, &it.CredentialID, &it.Name, &issuer, &it.IssuerName, &it.Format, &it.SourceURL,
		&it.Verdict, &it.Status, &created, &verified, &achName}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return it, err
	}
	it.CreatedAt, it.VerifiedAt = fromMicros(created), fromMicros(verified)
	if it.Kind == backpack.KindIssued {
		it.IssuerSlug = issuer
		it.CredentialID = "urn:uuid:" + it.ID
		it.Name = achName
	} else {
		it.IssuerID = issuer
	}
	return it, nil
}

// identitiesCond selects credentials issued to one of a user's addresses
// (the account's, the verified further ones); it takes the user id twice.
// Addresses are kept normalized on both sides, so they compare as they are.
const identitiesCond = `c.recipient_email IN (SELECT email FROM users WHERE id = ? AND email IS NOT NULL
	UNION ALL SELECT email FROM learner_emails WHERE user_id = ? AND verified_at > 0)`

// Holdings implements backpack.Store: issued credentials to any of the
// user's addresses and the user's imported ones, newest first, in one
// round trip.
func (s *DB) Holdings(ctx context.Context, userID string, q backpack.Query) ([]backpack.Item, int, error) {
	issuedWhere := " WHERE " + identitiesCond
	importedWhere := " WHERE b.user_id = ?"
	issuedArgs := []any{userID, userID}
	importedArgs := []any{userID}
	if !q.Since.IsZero() {
		issuedWhere += " AND c.created_at >= ?"
		importedWhere += " AND b.created_at >= ?"
		issuedArgs = append(issuedArgs, micros(q.Since))
		importedArgs = append(importedArgs, micros(q.Since))
	}
	if q.OB3Only {
		importedWhere += " AND b.format <> 'ob2'"
	}
	issuedPayload, importedPayload := "", ""
	if q.WithPayload {
		issuedPayload, importedPayload = ", c.signed AS payload", ", b.payload"
	}
	// One round trip: the page and, with it, the total (a window over the
	// whole union); a page past the end needs the counts alone.
	query := "SELECT h.*, COUNT(*) OVER () AS total FROM (" + fmt.Sprintf(issuedHoldingSelect, issuedPayload) + issuedWhere +
		" UNION ALL " + fmt.Sprintf(importedHoldingSelect, importedPayload) + importedWhere +
		") h ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
	args := append(append(slices.Clone(issuedArgs), importedArgs...), q.Limit, q.Offset)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: holdings: %w", err)
	}
	defer rows.Close()
	out := make([]backpack.Item, 0, q.Limit)
	total := 0
	for rows.Next() {
		var payload string
		extra := []any{&total}
		if q.WithPayload {
			extra = []any{&payload, &total}
		}
		it, err := scanHolding(rows, extra...)
		if err != nil {
			return nil, 0, fmt.Errorf("store: holdings: %w", err)
		}
		if q.WithPayload {
			it.Payload = []byte(payload)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: holdings: %w", err)
	}
	if len(out) == 0 && q.Offset > 0 {
		var n int
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM credentials c"+issuedWhere), issuedArgs...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("store: holdings: %w", err)
		}
		if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM backpack_items b"+importedWhere), importedArgs...).Scan(&n); err != nil {
			return nil, 0, fmt.Errorf("store: holdings: %w", err)
		}
		total += n
	}
	return out, total, nil
}

// Holding implements backpack.Store: the issued credential id if it went
// to one of the user's addresses, else the user's imported item id.
func (s *DB) Holding(ctx context.Context, userID string, id string) (*backpack.Item, error) {
	var payload string
	it, err := scanHolding(s.db.QueryRowContext(ctx, s.q(fmt.Sprintf(issuedHoldingSelect, ", c.signed")+" WHERE c.id = ? AND "+identitiesCond),
		id, userID, userID), &payload)
	if err == nil {
		it.Payload = []byte(payload)
		return &it, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: holding: %w", err)
	}
	var original []byte
	var report string
	it, err = scanHolding(s.db.QueryRowContext(ctx, s.q(fmt.Sprintf(importedHoldingSelect, ", b.payload, b.original, b.report")+" WHERE b.id = ? AND b.user_id = ?"), id, userID),
		&payload, &original, &report)
	if err != nil {
		return nil, bpNotFound(err, "credential "+id)
	}
	it.Payload, it.Original, it.Report = []byte(payload), original, json.RawMessage(report)
	return &it, nil
}

const importedCols = "id, user_id, credential_id, issuer_id, issuer_name, name, format, source_url, original, payload, verdict, status, report, created_at, updated_at, verified_at"

// PutImported implements backpack.Store.
func (s *DB) PutImported(ctx context.Context, it backpack.Imported) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO backpack_items ("+importedCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		it.ID, it.UserID, it.CredentialID, it.IssuerID, it.IssuerName, it.Name, it.Format, it.SourceURL, it.Original, string(it.Payload),
		it.Verdict, it.Status, string(it.Report), micros(it.CreatedAt), micros(it.UpdatedAt), micros(it.VerifiedAt))
	if isUnique(err) {
		return fmt.Errorf("item %s: %w", it.ID, backpack.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	return nil
}

// ImportedCount implements backpack.Store.
func (s *DB) ImportedCount(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM backpack_items WHERE user_id = ?"), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count imported: %w", err)
	}
	return n, nil
}

// ReplaceImported implements backpack.Store.
func (s *DB) ReplaceImported(ctx context.Context, it backpack.Imported) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE backpack_items SET credential_id = ?, issuer_id = ?, issuer_name = ?, name = ?, format = ?, source_url = ?,
		original = ?, payload = ?, verdict = ?, status = ?, report = ?, updated_at = ?, verified_at = ? WHERE id = ? AND user_id = ?`),
		it.CredentialID, it.IssuerID, it.IssuerName, it.Name, it.Format, it.SourceURL, it.Original, string(it.Payload),
		it.Verdict, it.Status, string(it.Report), micros(it.UpdatedAt), micros(it.VerifiedAt), it.ID, it.UserID)
	if err != nil {
		return fmt.Errorf("store: replace import: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("item %s: %w", it.ID, backpack.ErrNotFound)
	}
	return nil
}

func scanImported(sc interface{ Scan(...any) error }) (backpack.Imported, error) {
	var it backpack.Imported
	var payload, report string
	var cr, up, ver int64
	err := sc.Scan(&it.ID, &it.UserID, &it.CredentialID, &it.IssuerID, &it.IssuerName, &it.Name, &it.Format, &it.SourceURL, &it.Original, &payload,
		&it.Verdict, &it.Status, &report, &cr, &up, &ver)
	it.Payload, it.Report = []byte(payload), json.RawMessage(report)
	it.CreatedAt, it.UpdatedAt, it.VerifiedAt = fromMicros(cr), fromMicros(up), fromMicros(ver)
	return it, err
}

// ImportedByCredentialID implements backpack.Store (the oldest, if several).
func (s *DB) ImportedByCredentialID(ctx context.Context, userID, credentialID string) (*backpack.Imported, error) {
	it, err := scanImported(s.db.QueryRowContext(ctx, s.q("SELECT "+importedCols+" FROM backpack_items WHERE user_id = ? AND credential_id = ? ORDER BY created_at LIMIT 1"), userID, credentialID))
	if err != nil {
		return nil, bpNotFound(err, "credential "+credentialID)
	}
	return &it, nil
}

// DeleteImported implements backpack.Store.
func (s *DB) DeleteImported(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, s.q("DELETE FROM backpack_items WHERE id = ? AND user_id = ?"), id, userID)
	if err != nil {
		return fmt.Errorf("store: delete item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("item %s: %w", id, backpack.ErrNotFound)
	}
	return nil
}

// DueForVerification implements backpack.Store.
func (s *DB) DueForVerification(ctx context.Context, before time.Time, limit int) ([]backpack.Imported, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+importedCols+" FROM backpack_items WHERE verified_at < ? ORDER BY verified_at LIMIT ?"), micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due items: %w", err)
	}
	defer rows.Close()
	var out []backpack.Imported
	for rows.Next() {
		it, err := scanImported(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// SetVerification implements backpack.Store.
func (s *DB) SetVerification(ctx context.Context, id, verdict, status string, report []byte, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE backpack_items SET verdict = ?, status = ?, report = ?, verified_at = ? WHERE id = ?"),
		verdict, status, string(report), micros(at), id)
	if err != nil {
		return fmt.Errorf("store: verification: %w", err)
	}
	return nil
}

// PutCollection implements backpack.Store (insert or replace).
func (s *DB) PutCollection(ctx context.Context, c backpack.Collection) error {
	items, _ := json.Marshal(c.Items)
	if c.Items == nil {
		items = []byte("[]")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE backpack_collections SET name = ?, description = ?, items = ?, updated_at = ? WHERE id = ? AND user_id = ?"),
			c.Name, c.Description, string(items), micros(c.UpdatedAt), c.ID, c.UserID)
		if err != nil {
			return fmt.Errorf("store: collection: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO backpack_collections (id, user_id, name, description, items, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			c.ID, c.UserID, c.Name, c.Description, string(items), micros(c.CreatedAt), micros(c.UpdatedAt))
		if isUnique(err) {
			return fmt.Errorf("collection %s: %w", c.ID, backpack.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: collection: %w", err)
		}
		return nil
	})
}

const collectionCols = "id, user_id, name, description, items, created_at, updated_at"

func scanCollection(sc interface{ Scan(...any) error }) (backpack.Collection, error) {
	var c backpack.Collection
	var items string
	var cr, up int64
	if err := sc.Scan(&c.ID, &c.UserID, &c.Name, &c.Description, &items, &cr, &up); err != nil {
		return c, err
	}
	json.Unmarshal([]byte(items), &c.Items)
	c.CreatedAt, c.UpdatedAt = fromMicros(cr), fromMicros(up)
	return c, nil
}

// Collections implements backpack.Store.
func (s *DB) Collections(ctx context.Context, userID string) ([]backpack.Collection, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+collectionCols+" FROM backpack_collections WHERE user_id = ? ORDER BY created_at, id"), userID)
	if err != nil {
		return nil, fmt.Errorf("store: collections: %w", err)
	}
	defer rows.Close()
	out := []backpack.Collection{}
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Collection implements backpack.Store.
func (s *DB) Collection(ctx context.Context, userID, id string) (*backpack.Collection, error) {
	c, err := scanCollection(s.db.QueryRowContext(ctx, s.q("SELECT "+collectionCols+" FROM backpack_collections WHERE id = ? AND user_id = ?"), id, userID))
	if err != nil {
		return nil, bpNotFound(err, "collection "+id)
	}
	return &c, nil
}

// DeleteCollection implements backpack.Store; its share links end too.
func (s *DB) DeleteCollection(ctx context.Context, userID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM backpack_collections WHERE id = ? AND user_id = ?"), id, userID)
		if err != nil {
			return fmt.Errorf("store: delete collection: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("collection %s: %w", id, backpack.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, s.q("DELETE FROM backpack_shares WHERE user_id = ? AND target_kind = 'collection' AND target_id = ?"), userID, id)
		return err
	})
}

const shareCols = "id, user_id, target_kind, target_id, expires_at, revoked_at, views, created_at"

func scanShare(sc interface{ Scan(...any) error }) (backpack.Share, error) {
	var sh backpack.Share
	var exp, rev, cr int64
	err := sc.Scan(&sh.ID, &sh.UserID, &sh.TargetKind, &sh.TargetID, &exp, &rev, &sh.Views, &cr)
	sh.ExpiresAt, sh.RevokedAt, sh.CreatedAt = fromMicros(exp), fromMicros(rev), fromMicros(cr)
	return sh, err
}

// PutShare implements backpack.Store.
func (s *DB) PutShare(ctx context.Context, sh backpack.Share) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO backpack_shares ("+shareCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
		sh.ID, sh.UserID, sh.TargetKind, sh.TargetID, micros(sh.ExpiresAt), micros(sh.RevokedAt), sh.Views, micros(sh.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: share: %w", err)
	}
	return nil
}

// Shares implements backpack.Store.
func (s *DB) Shares(ctx context.Context, userID string) ([]backpack.Share, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+shareCols+" FROM backpack_shares WHERE user_id = ? ORDER BY created_at, id"), userID)
	if err != nil {
		return nil, fmt.Errorf("store: shares: %w", err)
	}
	defer rows.Close()
	out := []backpack.Share{}
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// RevokeShare implements backpack.Store.
func (s *DB) RevokeShare(ctx context.Context, userID, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE backpack_shares SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at = 0"), micros(at), id, userID)
	if err != nil {
		return fmt.Errorf("store: revoke share: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.db.QueryRowContext(ctx, s.q("SELECT 1 FROM backpack_shares WHERE id = ? AND user_id = ?"), id, userID).Scan(&one); err != nil {
			return bpNotFound(err, "share "+id)
		}
	}
	return nil
}

// ViewShare implements backpack.Store.
func (s *DB) ViewShare(ctx context.Context, id string, t time.Time) (*backpack.Share, error) {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE backpack_shares SET views = views + 1 WHERE id = ? AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?)"), id, micros(t))
	if err != nil {
		return nil, fmt.Errorf("store: view share: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("share link: %w", backpack.ErrNotFound)
	}
	sh, err := scanShare(s.db.QueryRowContext(ctx, s.q("SELECT "+shareCols+" FROM backpack_shares WHERE id = ?"), id))
	if err != nil {
		return nil, bpNotFound(err, "share link")
	}
	return &sh, nil
}

// Profile implements backpack.Store.
func (s *DB) Profile(ctx context.Context, userID string) (json.RawMessage, error) {
	var data string
	err := s.db.QueryRowContext(ctx, s.q("SELECT data FROM backpack_profiles WHERE user_id = ?"), userID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: profile: %w", err)
	}
	return json.RawMessage(data), nil
}

// PutProfile implements backpack.Store.
func (s *DB) PutProfile(ctx context.Context, userID string, data json.RawMessage, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM backpack_profiles WHERE user_id = ?"), userID); err != nil {
			return fmt.Errorf("store: profile: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO backpack_profiles (user_id, data, updated_at) VALUES (?, ?, ?)"), userID, string(data), micros(at)); err != nil {
			return fmt.Errorf("store: profile: %w", err)
		}
		return nil
	})
}

// LandedSince implements backpack.Store.
func (s *DB) LandedSince(ctx context.Context, since time.Time, limit int) ([]backpack.Landed, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT c.id, c.recipient_email, c.recipient_name, i.name, a.data, c.created_at
		FROM credentials c JOIN issuers i ON i.slug = c.issuer
		JOIN achievements a ON a.id = c.achievement_id AND a.version = c.achievement_version
		WHERE c.created_at >= ? AND NOT EXISTS (SELECT 1 FROM backpack_notified n WHERE n.credential_id = c.id)
		ORDER BY c.created_at LIMIT ?`), micros(since), limit)
	if err != nil {
		return nil, fmt.Errorf("store: landed: %w", err)
	}
	defer rows.Close()
	var out []backpack.Landed
	for rows.Next() {
		var l backpack.Landed
		var data string
		var cr int64
		if err := rows.Scan(&l.CredentialID, &l.RecipientEmail, &l.RecipientName, &l.IssuerName, &data, &cr); err != nil {
			return nil, err
		}
		l.AchievementDoc, l.CreatedAt = []byte(data), fromMicros(cr)
		out = append(out, l)
	}
	return out, rows.Err()
}

// ClaimNotification implements backpack.Store.
func (s *DB) ClaimNotification(ctx context.Context, credentialID string, at time.Time) (bool, error) {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO backpack_notified (credential_id, at) VALUES (?, ?)"), credentialID, micros(at))
	if isUnique(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: claim notification: %w", err)
	}
	return true, nil
}

// EraseLearner implements backpack.Store, in one transaction.
func (s *DB) EraseLearner(ctx context.Context, userID string, emails []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM backpack_items WHERE user_id = ?",
			"DELETE FROM backpack_collections WHERE user_id = ?",
			"DELETE FROM backpack_shares WHERE user_id = ?",
			"DELETE FROM backpack_profiles WHERE user_id = ?",
			"DELETE FROM learner_emails WHERE user_id = ?",
			"DELETE FROM sessions WHERE user_id = ?",
			"DELETE FROM signin_links WHERE user_id = ?",
			"UPDATE users SET email = NULL, name = '', password_hash = '', oidc_issuer = NULL, oidc_subject = NULL WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), userID); err != nil {
				return fmt.Errorf("store: erase: %w", err)
			}
		}
		if len(emails) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE credentials SET recipient_email = '', recipient_name = '', recipient_did = '' WHERE "+inList("recipient_email", len(emails))), anys(emails)...); err != nil {
			return fmt.Errorf("store: erase: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM learners WHERE "+inList("email", len(emails))), anys(emails)...); err != nil {
			return fmt.Errorf("store: erase: %w", err)
		}
		return nil
	})
}
