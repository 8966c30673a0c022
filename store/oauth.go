package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/oauth"
)

var _ oauth.Store = (*DB)(nil)

func oauthNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, oauth.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

func splitSpaces(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

const oauthClientCols = "id, secret_hash, name, client_uri, logo_uri, tos_uri, policy_uri, software_id, software_version, redirect_uris, auth_method, grant_types, response_types, scope, created_at"

// CreateClient implements oauth.Store.
func (s *DB) CreateClient(ctx context.Context, c oauth.Client) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO oauth_clients ("+oauthClientCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		c.ID, c.SecretHash, c.Name, c.URI, c.LogoURI, c.TOSURI, c.PolicyURI, c.SoftwareID, c.SoftwareVersion,
		strings.Join(c.RedirectURIs, "\n"), c.TokenEndpointAuthMethod, strings.Join(c.GrantTypes, " "), strings.Join(c.ResponseTypes, " "), c.Scope, micros(c.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("client %s: %w", c.ID, oauth.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create OAuth client: %w", err)
	}
	return nil
}

// OAuthClient implements oauth.Store.
func (s *DB) OAuthClient(ctx context.Context, id string) (oauth.Client, error) {
	var c oauth.Client
	var redirects, grants, responses string
	var created int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT "+oauthClientCols+" FROM oauth_clients WHERE id = ?"), id).Scan(
		&c.ID, &c.SecretHash, &c.Name, &c.URI, &c.LogoURI, &c.TOSURI, &c.PolicyURI, &c.SoftwareID, &c.SoftwareVersion,
		&redirects, &c.TokenEndpointAuthMethod, &grants, &responses, &c.Scope, &created)
	if err != nil {
		return c, oauthNotFound(err, "OAuth client "+id)
	}
	c.RedirectURIs = strings.Split(redirects, "\n")
	c.GrantTypes, c.ResponseTypes = splitSpaces(grants), splitSpaces(responses)
	c.CreatedAt = fromMicros(created)
	return c, nil
}

// CreateGrant implements oauth.Store.
func (s *DB) CreateGrant(ctx context.Context, g oauth.Grant, c oauth.Code) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO oauth_grants (id, client_id, user_id, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			g.ID, g.ClientID, g.UserID, strings.Join(g.Scopes, " "), micros(g.CreatedAt), micros(g.ExpiresAt), nullMicros(g.RevokedAt))
		if isUnique(err) {
			return fmt.Errorf("grant %s: %w", g.ID, oauth.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create grant: %w", err)
		}
		_, err = tx.ExecContext(ctx, s.q("INSERT INTO oauth_codes (hash, grant_id, redirect_uri, code_challenge, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)"),
			c.Hash, g.ID, c.RedirectURI, c.CodeChallenge, micros(c.ExpiresAt), nullMicros(c.UsedAt))
		if isUnique(err) {
			return fmt.Errorf("code: %w", oauth.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create code: %w", err)
		}
		return nil
	})
}

const grantCols = "g.id, g.client_id, g.user_id, g.scopes, g.created_at, g.expires_at, g.revoked_at"

func scanGrant(g *oauth.Grant, scopes *string, created, expires *int64, revoked *sql.NullInt64) []any {
	return []any{&g.ID, &g.ClientID, &g.UserID, scopes, created, expires, revoked}
}

func fillGrant(g *oauth.Grant, scopes string, created, expires int64, revoked sql.NullInt64) {
	g.Scopes = splitSpaces(scopes)
	g.CreatedAt, g.ExpiresAt = fromMicros(created), fromMicros(expires)
	g.RevokedAt = fromNullMicros(revoked)
}

// Grant implements oauth.Store.
func (s *DB) Grant(ctx context.Context, id string) (oauth.Grant, error) {
	var g oauth.Grant
	var scopes string
	var created, expires int64
	var revoked sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.q("SELECT "+grantCols+" FROM oauth_grants g WHERE g.id = ?"), id).Scan(scanGrant(&g, &scopes, &created, &expires, &revoked)...)
	if err != nil {
		return g, oauthNotFound(err, "grant "+id)
	}
	fillGrant(&g, scopes, created, expires, revoked)
	return g, nil
}

// UseCode implements oauth.Store: the conditional UPDATE is the claim, so
// of two concurrent uses only one changes the row.
func (s *DB) UseCode(ctx context.Context, hash string, at time.Time) (oauth.Code, oauth.Grant, error) {
	var c oauth.Code
	var g oauth.Grant
	var scopes string
	var created, gexp, cexp int64
	var revoked, used sql.NullInt64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		dest := append(scanGrant(&g, &scopes, &created, &gexp, &revoked), &c.Hash, &c.GrantID, &c.RedirectURI, &c.CodeChallenge, &cexp, &used)
		err := tx.QueryRowContext(ctx, s.q("SELECT "+grantCols+", c.hash, c.grant_id, c.redirect_uri, c.code_challenge, c.expires_at, c.used_at FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.hash = ?"), hash).Scan(dest...)
		if err != nil {
			return oauthNotFound(err, "code")
		}
		if used.Valid {
			return fmt.Errorf("code: %w", oauth.ErrUsed)
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL"), micros(at), hash)
		if err != nil {
			return fmt.Errorf("store: use code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("code: %w", oauth.ErrUsed)
		}
		used = sql.NullInt64{Int64: micros(at), Valid: true}
		return nil
	})
	fillGrant(&g, scopes, created, gexp, revoked)
	c.ExpiresAt, c.UsedAt = fromMicros(cexp), fromNullMicros(used)
	return c, g, err
}

// RevokeGrant implements oauth.Store.
func (s *DB) RevokeGrant(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?"), micros(at), id)
	if err != nil {
		return fmt.Errorf("store: revoke grant: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("grant %s: %w", id, oauth.ErrNotFound)
	}
	return nil
}

// UserGrants implements oauth.Store.
func (s *DB) UserGrants(ctx context.Context, userID string, now time.Time) ([]oauth.GrantInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+grantCols+", c.name, c.client_uri, c.logo_uri FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id"+
		" WHERE g.user_id = ? AND g.revoked_at IS NULL AND g.expires_at > ? ORDER BY g.created_at DESC, g.id"), userID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("store: grants: %w", err)
	}
	defer rows.Close()
	var out []oauth.GrantInfo
	for rows.Next() {
		var gi oauth.GrantInfo
		var scopes string
		var created, expires int64
		var revoked sql.NullInt64
		if err := rows.Scan(append(scanGrant(&gi.Grant, &scopes, &created, &expires, &revoked), &gi.ClientName, &gi.ClientURI, &gi.LogoURI)...); err != nil {
			return nil, fmt.Errorf("store: grants: %w", err)
		}
		fillGrant(&gi.Grant, scopes, created, expires, revoked)
		out = append(out, gi)
	}
	return out, rows.Err()
}

func (s *DB) insertTokens(ctx context.Context, tx *sql.Tx, grantID string, ts []oauth.Token) error {
	var latest int64
	for _, t := range ts {
		if t.GrantID != grantID {
			return fmt.Errorf("store: token of grant %s stored with grant %s", t.GrantID, grantID)
		}
		_, err := tx.ExecContext(ctx, s.q("INSERT INTO oauth_tokens (hash, grant_id, kind, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
			t.Hash, grantID, t.Kind, strings.Join(t.Scopes, " "), micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.RevokedAt))
		if isUnique(err) {
			return fmt.Errorf("token: %w", oauth.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create token: %w", err)
		}
		latest = max(latest, micros(t.ExpiresAt))
	}
	if _, err := tx.ExecContext(ctx, s.q("UPDATE oauth_grants SET expires_at = ? WHERE id = ? AND expires_at < ?"), latest, grantID, latest); err != nil {
		return fmt.Errorf("store: extend grant: %w", err)
	}
	return nil
}

// CreateTokens implements oauth.Store.
func (s *DB) CreateTokens(ctx context.Context, grantID string, ts ...oauth.Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertTokens(ctx, tx, grantID, ts) })
}

// RotateToken implements oauth.Store.
func (s *DB) RotateToken(ctx context.Context, oldHash string, at time.Time, ts ...oauth.Token) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var grantID string
		var revoked sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q("SELECT grant_id, revoked_at FROM oauth_tokens WHERE hash = ?"), oldHash).Scan(&grantID, &revoked); err != nil {
			return oauthNotFound(err, "token")
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE oauth_tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL"), micros(at), oldHash)
		if err != nil {
			return fmt.Errorf("store: rotate token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 || revoked.Valid {
			return fmt.Errorf("token: %w", oauth.ErrUsed)
		}
		return s.insertTokens(ctx, tx, grantID, ts)
	})
}

// OAuthToken implements oauth.Store: two primary-key lookups, the query
// behind every Open Badges API call.
func (s *DB) OAuthToken(ctx context.Context, hash string) (oauth.Token, oauth.Grant, error) {
	var t oauth.Token
	var g oauth.Grant
	var gscopes, tscopes string
	var gcreated, gexp, tcreated, texp int64
	var grevoked, trevoked sql.NullInt64
	dest := append(scanGrant(&g, &gscopes, &gcreated, &gexp, &grevoked), &t.Hash, &t.GrantID, &t.Kind, &tscopes, &tcreated, &texp, &trevoked)
	err := s.db.QueryRowContext(ctx, s.q("SELECT "+grantCols+", t.hash, t.grant_id, t.kind, t.scopes, t.created_at, t.expires_at, t.revoked_at FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.hash = ?"), hash).Scan(dest...)
	if err != nil {
		return t, g, oauthNotFound(err, "token")
	}
	fillGrant(&g, gscopes, gcreated, gexp, grevoked)
	t.Scopes = splitSpaces(tscopes)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(tcreated), fromMicros(texp), fromNullMicros(trevoked)
	return t, g, nil
}

// RevokeOAuthToken implements oauth.Store.
func (s *DB) RevokeOAuthToken(ctx context.Context, hash string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q("UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE hash = ?"), micros(at), hash); err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	return nil
}

// PurgeOAuth implements oauth.Store. Deleting a grant takes its codes and
// tokens with it (ON DELETE CASCADE).
func (s *DB) PurgeOAuth(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM oauth_grants WHERE expires_at < ?",
			"DELETE FROM oauth_tokens WHERE expires_at < ?",
			"DELETE FROM oauth_codes WHERE expires_at < ?",
		} {
			res, err := tx.ExecContext(ctx, s.q(q), micros(before))
			if err != nil {
				return fmt.Errorf("store: purge OAuth: %w", err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
