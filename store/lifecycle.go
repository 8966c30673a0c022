package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/lifecycle"
)

var _ lifecycle.Store = (*DB)(nil)

const lifecycleCols = "id, email, created_at, last_seen, suspended_at, notice_step, notice_at"

func (s *DB) accounts(ctx context.Context, cond string, args ...any) ([]lifecycle.Account, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+lifecycleCols+" FROM users WHERE root = 0 AND "+cond), args...)
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	defer rows.Close()
	var out []lifecycle.Account
	for rows.Next() {
		var a lifecycle.Account
		var email sql.NullString
		var created, seen, suspended, notice int64
		if err := rows.Scan(&a.ID, &email, &created, &seen, &suspended, &a.NoticeStep, &notice); err != nil {
			return nil, fmt.Errorf("store: accounts: %w", err)
		}
		a.Email = email.String
		a.LastActive = fromMicros(max(created, seen))
		a.SuspendedAt, a.NoticeAt = fromMicros(suspended), fromMicros(notice)
		out = append(out, a)
	}
	return out, rows.Err()
}

// InactiveAccounts implements lifecycle.Store.
func (s *DB) InactiveAccounts(ctx context.Context, before time.Time, limit int) ([]lifecycle.Account, error) {
	b := micros(before)
	return s.accounts(ctx, "suspended_at = 0 AND last_seen < ? AND created_at < ? ORDER BY last_seen, id LIMIT ?", b, b, limit)
}

// SuspendedAccounts implements lifecycle.Store.
func (s *DB) SuspendedAccounts(ctx context.Context, before time.Time, limit int) ([]lifecycle.Account, error) {
	return s.accounts(ctx, "suspended_at > 0 AND suspended_at < ? ORDER BY suspended_at, id LIMIT ?", micros(before), limit)
}

// MarkNotice implements lifecycle.Store.
func (s *DB) MarkNotice(ctx context.Context, userID, step string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q("UPDATE users SET notice_step = ?, notice_at = ? WHERE id = ?"), step, micros(at), userID); err != nil {
		return fmt.Errorf("store: mark notice: %w", err)
	}
	return nil
}

// SuspendAccount implements lifecycle.Store: the account must still be
// as inactive as when it was listed (a sign-in in between wins).
func (s *DB) SuspendAccount(ctx context.Context, userID string, lastActive, at time.Time, a issuing.AuditEntry) (bool, error) {
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q("UPDATE users SET suspended_at = ? WHERE id = ? AND suspended_at = 0 AND root = 0 AND last_seen <= ?"),
			micros(at), userID, micros(lastActive))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		for _, q := range []string{"DELETE FROM sessions WHERE user_id = ?", "DELETE FROM signin_links WHERE user_id = ?"} {
			if _, err := tx.ExecContext(ctx, s.q(q), userID); err != nil {
				return err
			}
		}
		done = true
		return s.audit(ctx, tx, a)
	})
	if err != nil {
		return false, fmt.Errorf("store: suspend account: %w", err)
	}
	return done, nil
}

// ReinstateAccount implements lifecycle.Store.
func (s *DB) ReinstateAccount(ctx context.Context, email string, at time.Time, a issuing.AuditEntry) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, s.q("SELECT id FROM users WHERE email = ?"), auth.NormalizeEmail(email)).Scan(&id)
		if err == sql.ErrNoRows {
			return fmt.Errorf("account %s: %w", email, issuing.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: reinstate: %w", err)
		}
		// Reinstating counts as activity: the clock starts again.
		if _, err := tx.ExecContext(ctx, s.q("UPDATE users SET suspended_at = 0, notice_step = '', notice_at = 0, last_seen = ? WHERE id = ?"), micros(at), id); err != nil {
			return fmt.Errorf("store: reinstate: %w", err)
		}
		a.Target = id
		return s.audit(ctx, tx, a)
	})
}

// DeleteAccount implements lifecycle.Store. Personal data is what names
// or reaches the person: the account, its sessions, memberships, OAuth
// grants, backpack and addresses; under each of its addresses, the
// learner record, completions and xAPI statements, and the recipient
// columns of issued credentials and attestations; and the evidence files
// that are theirs (deletePersonTx). The signed credentials stay (they
// name the recipient by a salted hash only) and so do their status
// entries, so that they keep verifying.
func (s *DB) DeleteAccount(ctx context.Context, userID string, a issuing.AuditEntry) (lifecycle.Deletion, error) {
	var d lifecycle.Deletion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = s.deletePersonTx(ctx, tx, userID, "", a)
		return err
	})
	if err != nil {
		return lifecycle.Deletion{}, fmt.Errorf("store: delete account: %w", err)
	}
	return d, nil
}

// DeletePerson implements lifecycle.Store: the account that has email as
// its address or as a verified backpack address, or, for a person
// without an account, what is kept under the address alone.
func (s *DB) DeletePerson(ctx context.Context, email string, a issuing.AuditEntry) (lifecycle.Deletion, error) {
	email = auth.NormalizeEmail(email)
	var d lifecycle.Deletion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id string
		var root bool
		err := tx.QueryRowContext(ctx, s.q(`SELECT id, root <> 0 FROM users WHERE email = ?
			UNION SELECT u.id, u.root <> 0 FROM users u JOIN learner_emails e ON e.user_id = u.id WHERE e.email = ? AND e.verified_at > 0`),
			email, email).Scan(&id, &root)
		switch {
		case err == sql.ErrNoRows:
			id = ""
		case err != nil:
			return err
		case root:
			return fmt.Errorf("a root account is not deleted this way: %w", issuing.ErrConflict)
		}
		d, err = s.deletePersonTx(ctx, tx, id, email, a)
		return err
	})
	if err != nil {
		return lifecycle.Deletion{}, fmt.Errorf("store: delete person: %w", err)
	}
	return d, nil
}

// evidenceRef finds the evidence files a signed credential points to.
var evidenceRef = regexp.MustCompile(`/evidence/([0-9a-f]{64})"`)

// deletePersonTx deletes the account userID (when not "") with every
// address it has, or only what is kept under email (a person without an
// account), and writes the audit entry with what it removed: counts,
// never an address or a name. Nothing found at all is ErrNotFound.
//
// Evidence files are the person's when no one else's credential, award
// decision or proposal points to them and either their own credentials
// point to them (their work, shown as evidence of their achievement) or
// they uploaded them. Their rows go here; the caller removes the bytes.
func (s *DB) deletePersonTx(ctx context.Context, tx *sql.Tx, userID, email string, a issuing.AuditEntry) (lifecycle.Deletion, error) {
	d := lifecycle.Deletion{UserID: userID, Removed: map[string]int64{}}
	emails := map[string]bool{}
	if email != "" {
		emails[email] = true
	}
	if userID != "" {
		var primary sql.NullString
		if err := tx.QueryRowContext(ctx, s.q("SELECT email FROM users WHERE id = ?"), userID).Scan(&primary); err != nil {
			if err == sql.ErrNoRows {
				return d, fmt.Errorf("account %s: %w", userID, issuing.ErrNotFound)
			}
			return d, err
		}
		if primary.String != "" {
			emails[primary.String] = true
		}
		rows, err := tx.QueryContext(ctx, s.q("SELECT email FROM learner_emails WHERE user_id = ? AND verified_at > 0"), userID)
		if err != nil {
			return d, err
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return d, err
			}
			emails[e] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, err
		}
	}
	addrs := slices.Sorted(maps.Keys(emails))
	exec := func(what, q string, args ...any) error {
		res, err := tx.ExecContext(ctx, s.q(q), args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		d.Removed[what] += n
		return nil
	}

	// The evidence candidates, read before the recipient columns are
	// blanked: what their credentials point to, and what they uploaded.
	candidates := map[string]bool{}
	if len(addrs) > 0 {
		rows, err := tx.QueryContext(ctx, s.q("SELECT signed FROM credentials WHERE "+inList("recipient_email", len(addrs))), anys(addrs)...)
		if err != nil {
			return d, err
		}
		for rows.Next() {
			var signed string
			if err := rows.Scan(&signed); err != nil {
				rows.Close()
				return d, err
			}
			for _, m := range evidenceRef.FindAllStringSubmatch(signed, -1) {
				candidates[m[1]] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, err
		}
	}
	if userID != "" {
		rows, err := tx.QueryContext(ctx, s.q("SELECT target FROM audit WHERE action = 'evidence.upload' AND actor = ?"), "user:"+userID)
		if err != nil {
			return d, err
		}
		for rows.Next() {
			var sha string
			if err := rows.Scan(&sha); err != nil {
				rows.Close()
				return d, err
			}
			candidates[sha] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, err
		}
	}
	for _, sha := range slices.Sorted(maps.Keys(candidates)) {
		theirs, err := s.evidenceTheirs(ctx, tx, sha, addrs)
		if err != nil {
			return d, err
		}
		if !theirs {
			continue
		}
		if err := exec("evidence", "DELETE FROM blobs WHERE sha256 = ?", sha); err != nil {
			return d, err
		}
		d.Evidence = append(d.Evidence, sha)
	}

	for _, e := range addrs {
		for _, st := range []struct{ what, q string }{
			{"credentials", "UPDATE credentials SET recipient_email = '', recipient_name = '', recipient_did = '' WHERE recipient_email = ?"},
			{"attestations", "UPDATE attestations SET learner_email = '', learner_name = '' WHERE learner_email = ?"},
			{"learners", "DELETE FROM learners WHERE email = ?"},
			{"completions", "DELETE FROM completions WHERE learner = ?"},
			{"completion_awards", "DELETE FROM completion_awards WHERE learner = ?"},
		} {
			if err := exec(st.what, st.q, e); err != nil {
				return d, err
			}
		}
		// Statements name their actor inside the stored JSON.
		if err := exec("xapi_statements", "DELETE FROM xapi_statements WHERE lower(statement) LIKE ? ESCAPE '!'", "%\"mailto:"+likeEscape(strings.ToLower(e))+"\"%"); err != nil {
			return d, err
		}
	}
	if userID == "" && email != "" {
		// An address someone else added to their backpack and never
		// verified is the requested person's, not that account's.
		if err := exec("learner_emails", "DELETE FROM learner_emails WHERE email = ? AND verified_at = 0", email); err != nil {
			return d, err
		}
	}
	if userID != "" {
		for _, st := range []struct{ what, q string }{
			{"oauth_tokens", "DELETE FROM oauth_tokens WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = ?)"},
			{"oauth_codes", "DELETE FROM oauth_codes WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = ?)"},
			{"oauth_grants", "DELETE FROM oauth_grants WHERE user_id = ?"},
			{"backpack_items", "DELETE FROM backpack_items WHERE user_id = ?"},
			{"backpack_collections", "DELETE FROM backpack_collections WHERE user_id = ?"},
			{"backpack_shares", "DELETE FROM backpack_shares WHERE user_id = ?"},
			{"backpack_profiles", "DELETE FROM backpack_profiles WHERE user_id = ?"},
			{"learner_emails", "DELETE FROM learner_emails WHERE user_id = ?"},
			{"sessions", "DELETE FROM sessions WHERE user_id = ?"},
			{"signin_links", "DELETE FROM signin_links WHERE user_id = ?"},
			{"memberships", "DELETE FROM memberships WHERE user_id = ?"},
			{"users", "DELETE FROM users WHERE id = ?"},
		} {
			if err := exec(st.what, st.q, userID); err != nil {
				return d, err
			}
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d.Removed)) {
		if d.Removed[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, d.Removed[k]))
		}
	}
	if len(parts) == 0 {
		return d, fmt.Errorf("nothing is kept about this person: %w", issuing.ErrNotFound)
	}
	a.Detail = strings.TrimSpace(a.Detail + "; removed: " + strings.Join(parts, ", "))
	if a.Target == "" {
		a.Target = userID
	}
	return d, s.audit(ctx, tx, a)
}

// evidenceTheirs reports whether the evidence file sha is the person's
// alone (addrs are their addresses): no credential of anyone else, no
// award decision of another learner and no award waiting for a second
// assessor points to it.
func (s *DB) evidenceTheirs(ctx context.Context, tx *sql.Tx, sha string, addrs []string) (bool, error) {
	pattern := "%/evidence/" + sha + "%"
	var n int
	q := "SELECT COUNT(*) FROM credentials WHERE signed LIKE ?"
	args := []any{pattern}
	if len(addrs) > 0 {
		q += " AND NOT " + inList("recipient_email", len(addrs))
		args = append(args, anys(addrs)...)
	}
	if err := tx.QueryRowContext(ctx, s.q(q), args...).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	q = "SELECT COUNT(*) FROM completion_awards WHERE evidence LIKE ?"
	args = []any{pattern}
	if len(addrs) > 0 {
		q += " AND NOT " + inList("learner", len(addrs))
		args = append(args, anys(addrs)...)
	}
	if err := tx.QueryRowContext(ctx, s.q(q), args...).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM pending_awards WHERE state = 'pending' AND request LIKE ?"), pattern).Scan(&n); err != nil || n > 0 {
		return false, err
	}
	return true, nil
}

// likeEscape makes an address a literal LIKE pattern (ESCAPE '!'):
// "jean_dupont" must not match "jeanXdupont".
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
