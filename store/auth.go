package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/issuing"
)

var _ auth.Store = (*DB)(nil)

func authNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, auth.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const userCols = "id, email, name, password_hash, oidc_issuer, oidc_subject, root, created_at, last_seen"

func scanUser(sc interface{ Scan(...any) error }) (auth.User, error) {
	var u auth.User
	var email, oi, os sql.NullString
	var root int
	var created, seen, suspended int64
	if err := sc.Scan(&u.ID, &email, &u.Name, &u.PasswordHash, &oi, &os, &root, &created, &seen, &suspended); err != nil {
		return u, err
	}
	u.Suspended = suspended != 0
	u.Email, u.OIDCIssuer, u.OIDCSubject = email.String, oi.String, os.String
	u.Root = root == 1
	u.CreatedAt, u.LastSeen = fromMicros(created), fromMicros(seen)
	return u, nil
}

// CreateUser implements auth.Store.
func (s *DB) CreateUser(ctx context.Context, u auth.User) (auth.User, error) {
	if u.ID == "" {
		u.ID = newID()
	}
	root := 0
	if u.Root {
		root = 1
	}
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO users ("+userCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		u.ID, nullable(u.Email), u.Name, u.PasswordHash, nullable(u.OIDCIssuer), nullable(u.OIDCSubject), root, micros(u.CreatedAt), micros(u.LastSeen))
	if isUnique(err) {
		return u, fmt.Errorf("user %s: %w", u.Email, auth.ErrConflict)
	}
	if err != nil {
		return u, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

func (s *DB) userWhere(ctx context.Context, what, cond string, args ...any) (auth.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q("SELECT "+userCols+", suspended_at FROM users WHERE "+cond), args...))
	if err != nil {
		return u, authNotFound(err, what)
	}
	return u, nil
}

// UserByID implements auth.Store.
func (s *DB) UserByID(ctx context.Context, id string) (auth.User, error) {
	return s.userWhere(ctx, "user "+id, "id = ?", id)
}

// UserByEmail implements auth.Store.
func (s *DB) UserByEmail(ctx context.Context, email string) (auth.User, error) {
	return s.userWhere(ctx, "user "+email, "email = ?", email)
}

// UserByOIDC implements auth.Store.
func (s *DB) UserByOIDC(ctx context.Context, issuer, subject string) (auth.User, error) {
	return s.userWhere(ctx, "OpenID user", "oidc_issuer = ? AND oidc_subject = ?", issuer, subject)
}

func (s *DB) updateUser(ctx context.Context, what, set string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE users SET "+set+" WHERE id = ?"), args...)
	if isUnique(err) {
		return fmt.Errorf("%s: %w", what, auth.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, auth.ErrNotFound)
	}
	return nil
}

// LinkOIDC implements auth.Store.
func (s *DB) LinkOIDC(ctx context.Context, userID, issuer, subject string) error {
	return s.updateUser(ctx, "link OpenID identity", "oidc_issuer = ?, oidc_subject = ?", issuer, subject, userID)
}

// TouchUser implements auth.Store.
func (s *DB) TouchUser(ctx context.Context, userID string, at time.Time) error {
	return s.updateUser(ctx, "touch user", "last_seen = ?", micros(at), userID)
}

// SetPassword stores a user's new password hash.
func (s *DB) SetPassword(ctx context.Context, userID, hash string) error {
	return s.updateUser(ctx, "set password", "password_hash = ?", hash, userID)
}

// SetMembership implements auth.Store.
func (s *DB) SetMembership(ctx context.Context, m auth.Membership) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM memberships WHERE user_id = ? AND issuer = ?"), m.UserID, m.Issuer); err != nil {
			return fmt.Errorf("store: membership: %w", err)
		}
		if m.Role == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO memberships (user_id, issuer, role) VALUES (?, ?, ?)"), m.UserID, m.Issuer, string(m.Role)); err != nil {
			return fmt.Errorf("store: membership: %w", err)
		}
		return nil
	})
}

// Memberships implements auth.Store.
func (s *DB) Memberships(ctx context.Context, userID string) ([]auth.Membership, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT user_id, issuer, role FROM memberships WHERE user_id = ?"), userID)
	if err != nil {
		return nil, fmt.Errorf("store: memberships: %w", err)
	}
	defer rows.Close()
	var out []auth.Membership
	for rows.Next() {
		var m auth.Membership
		var role string
		if err := rows.Scan(&m.UserID, &m.Issuer, &role); err != nil {
			return nil, err
		}
		m.Role = auth.Role(role)
		out = append(out, m)
	}
	return out, rows.Err()
}

const tokenCols = "id, hash, name, issuer, scopes, role, created_by, created_at, revoked_at"

func scanToken(sc interface{ Scan(...any) error }) (auth.APIToken, error) {
	var t auth.APIToken
	var scopes, role string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Hash, &t.Name, &t.Issuer, &scopes, &role, &t.CreatedBy, &created, &revoked); err != nil {
		return t, err
	}
	if scopes != "" {
		t.Scopes = strings.Split(scopes, " ")
	}
	t.Role = auth.Role(role)
	t.CreatedAt = fromMicros(created)
	if revoked.Valid {
		r := fromMicros(revoked.Int64)
		t.RevokedAt = &r
	}
	return t, nil
}

// CreateToken implements auth.Store.
func (s *DB) CreateToken(ctx context.Context, t auth.APIToken) (auth.APIToken, error) {
	if t.ID == "" {
		t.ID = newID()
	}
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO api_tokens ("+tokenCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"),
		t.ID, t.Hash, t.Name, t.Issuer, strings.Join(t.Scopes, " "), string(t.Role), t.CreatedBy, micros(t.CreatedAt))
	if isUnique(err) {
		return t, fmt.Errorf("token: %w", auth.ErrConflict)
	}
	if err != nil {
		return t, fmt.Errorf("store: create token: %w", err)
	}
	return t, nil
}

// TokenByHash implements auth.Store.
func (s *DB) TokenByHash(ctx context.Context, hash string) (auth.APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.q("SELECT "+tokenCols+" FROM api_tokens WHERE hash = ?"), hash))
	if err != nil {
		return t, authNotFound(err, "token")
	}
	return t, nil
}

// RevokeToken implements auth.Store.
func (s *DB) RevokeToken(ctx context.Context, issuer, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE issuer = ? AND id = ?"), micros(at), issuer, id)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %s: %w", id, auth.ErrNotFound)
	}
	return nil
}

// ListTokens implements auth.Store.
func (s *DB) ListTokens(ctx context.Context, issuer string) ([]auth.APIToken, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+tokenCols+" FROM api_tokens WHERE issuer = ? ORDER BY created_at DESC, id"), issuer)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []auth.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateSession implements auth.Store.
func (s *DB) CreateSession(ctx context.Context, se auth.Session) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO sessions (id_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)"), se.IDHash, se.UserID, se.CSRF, micros(se.ExpiresAt))
	if isUnique(err) {
		return fmt.Errorf("session: %w", auth.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionUser implements auth.Store: the session, its user and the
// user's memberships in one round trip (every signed-in request asks).
func (s *DB) SessionUser(ctx context.Context, idHash string) (auth.Session, auth.User, []auth.Membership, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT s.id_hash, s.user_id, s.csrf, s.expires_at,
		u.id, u.email, u.name, u.password_hash, u.oidc_issuer, u.oidc_subject, u.root, u.created_at, u.last_seen, u.suspended_at,
		m.issuer, m.role
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN memberships m ON m.user_id = u.id
		WHERE s.id_hash = ?`), idHash)
	if err != nil {
		return auth.Session{}, auth.User{}, nil, fmt.Errorf("store: session: %w", err)
	}
	defer rows.Close()
	var (
		se    auth.Session
		u     auth.User
		ms    []auth.Membership
		found bool
	)
	for rows.Next() {
		var exp int64
		var issuer, role sql.NullString
		var email, oi, os sql.NullString
		var root int
		var created, seen, suspended int64
		if err := rows.Scan(&se.IDHash, &se.UserID, &se.CSRF, &exp,
			&u.ID, &email, &u.Name, &u.PasswordHash, &oi, &os, &root, &created, &seen, &suspended,
			&issuer, &role); err != nil {
			return se, u, nil, fmt.Errorf("store: session: %w", err)
		}
		found = true
		se.ExpiresAt = fromMicros(exp)
		u.Suspended = suspended != 0
		u.Email, u.OIDCIssuer, u.OIDCSubject = email.String, oi.String, os.String
		u.Root = root == 1
		u.CreatedAt, u.LastSeen = fromMicros(created), fromMicros(seen)
		if issuer.Valid {
			ms = append(ms, auth.Membership{UserID: u.ID, Issuer: issuer.String, Role: auth.Role(role.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return se, u, nil, fmt.Errorf("store: session: %w", err)
	}
	if !found {
		return se, u, nil, fmt.Errorf("session: %w", auth.ErrNotFound)
	}
	return se, u, ms, nil
}

// DeleteSession implements auth.Store.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.db.ExecContext(ctx, s.q("DELETE FROM sessions WHERE id_hash = ?"), idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// CreateSignInLink implements auth.Store.
func (s *DB) CreateSignInLink(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO signin_links (hash, user_id, expires_at) VALUES (?, ?, ?)"), hash, userID, micros(expires))
	if isUnique(err) {
		return fmt.Errorf("sign-in link: %w", auth.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create sign-in link: %w", err)
	}
	return nil
}

// UseSignInLink implements auth.Store: the DELETE is the claim, so of two
// concurrent uses only one sees the row.
func (s *DB) UseSignInLink(ctx context.Context, hash string) (string, time.Time, error) {
	var userID string
	var exp int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.q("SELECT user_id, expires_at FROM signin_links WHERE hash = ?"), hash).Scan(&userID, &exp); err != nil {
			return authNotFound(err, "sign-in link")
		}
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM signin_links WHERE hash = ?"), hash)
		if err != nil {
			return fmt.Errorf("store: use sign-in link: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sign-in link: %w", auth.ErrNotFound)
		}
		return nil
	})
	return userID, fromMicros(exp), err
}

// BeginIdempotent reserves an Idempotency-Key (see api.Idempotency).
func (s *DB) BeginIdempotent(ctx context.Context, principal, key, request string) (int, []byte, error) {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO idempotency (principal, key, request, created_at) VALUES (?, ?, ?, ?)"), principal, key, request, micros(time.Now()))
	if err == nil {
		return 0, nil, nil
	}
	if !isUnique(err) {
		return 0, nil, fmt.Errorf("store: idempotency: %w", err)
	}
	var stored string
	var status int
	var resp string
	if err := s.db.QueryRowContext(ctx, s.q("SELECT request, status, response FROM idempotency WHERE principal = ? AND key = ?"), principal, key).Scan(&stored, &status, &resp); err != nil {
		return 0, nil, fmt.Errorf("store: idempotency: %w", err)
	}
	if stored != request {
		return 0, nil, fmt.Errorf("idempotency key: %w", issuing.ErrConflict)
	}
	if status == 0 {
		return -1, nil, nil
	}
	return status, []byte(resp), nil
}

// FinishIdempotent stores the answer given to a keyed request.
func (s *DB) FinishIdempotent(ctx context.Context, principal, key string, status int, body []byte) error {
	_, err := s.db.ExecContext(ctx, s.q("UPDATE idempotency SET status = ?, response = ? WHERE principal = ? AND key = ?"), status, string(body), principal, key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}

// AbortIdempotent frees a key whose request was refused.
func (s *DB) AbortIdempotent(ctx context.Context, principal, key string) error {
	_, err := s.db.ExecContext(ctx, s.q("DELETE FROM idempotency WHERE principal = ? AND key = ? AND status = 0"), principal, key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}
