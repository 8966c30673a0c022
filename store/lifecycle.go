package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
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
// columns of issued credentials and attestations. The signed credentials
// stay (they name the recipient by a salted hash only) and so do their
// status entries, so that they keep verifying.
func (s *DB) DeleteAccount(ctx context.Context, userID string, a issuing.AuditEntry) error {
	counts := map[string]int64{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		emails := map[string]bool{}
		var primary sql.NullString
		if err := tx.QueryRowContext(ctx, s.q("SELECT email FROM users WHERE id = ?"), userID).Scan(&primary); err != nil {
			if err == sql.ErrNoRows {
				return fmt.Errorf("account %s: %w", userID, issuing.ErrNotFound)
			}
			return err
		}
		if primary.String != "" {
			emails[primary.String] = true
		}
		rows, err := tx.QueryContext(ctx, s.q("SELECT email FROM learner_emails WHERE user_id = ? AND verified_at > 0"), userID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				rows.Close()
				return err
			}
			emails[e] = true
		}
		rows.Close()
		exec := func(what, q string, args ...any) error {
			res, err := tx.ExecContext(ctx, s.q(q), args...)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			n, _ := res.RowsAffected()
			counts[what] += n
			return nil
		}
		for _, e := range slices.Sorted(maps.Keys(emails)) {
			for _, st := range []struct{ what, q string }{
				{"credentials", "UPDATE credentials SET recipient_email = '', recipient_name = '', recipient_did = '' WHERE recipient_email = ?"},
				{"attestations", "UPDATE attestations SET learner_email = '', learner_name = '' WHERE learner_email = ?"},
				{"learners", "DELETE FROM learners WHERE email = ?"},
				{"completions", "DELETE FROM completions WHERE learner = ?"},
				{"completion_awards", "DELETE FROM completion_awards WHERE learner = ?"},
			} {
				if err := exec(st.what, st.q, e); err != nil {
					return err
				}
			}
			// Statements name their actor inside the stored JSON.
			if err := exec("xapi_statements", "DELETE FROM xapi_statements WHERE lower(statement) LIKE ? ESCAPE '!'", "%\"mailto:"+likeEscape(strings.ToLower(e))+"\"%"); err != nil {
				return err
			}
		}
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
				return err
			}
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			if counts[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
			}
		}
		a.Detail = strings.TrimSpace(a.Detail + "; removed: " + strings.Join(parts, ", "))
		return s.audit(ctx, tx, a)
	})
	if err != nil {
		return fmt.Errorf("store: delete account: %w", err)
	}
	return nil
}

// likeEscape makes an address a literal LIKE pattern (ESCAPE '!'):
// "jean_dupont" must not match "jeanXdupont".
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
