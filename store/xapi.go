package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/insigne/insigne/completion/xapi"
)

var _ xapi.Store = (*DB)(nil)

// statementChunk bounds the rows of one multi-row statement (SQLite
// allows 32,766 parameters).
const statementChunk = 200

// SaveStatements implements xapi.Store: one transaction, the known ids
// compared by hash, the new ones inserted in multi-row statements.
func (s *DB) SaveStatements(ctx context.Context, ss []xapi.Stored) (int, error) {
	fresh := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		fresh = 0
		for start := 0; start < len(ss); start += statementChunk {
			chunk := ss[start:min(start+statementChunk, len(ss))]
			known, err := s.statementHashes(ctx, tx, chunk)
			if err != nil {
				return err
			}
			var todo []xapi.Stored
			for _, st := range chunk {
				h, ok := known[st.ID]
				switch {
				case !ok:
					todo = append(todo, st)
				case h != st.Hash:
					return fmt.Errorf("statement %s: %w: a different statement has this id", st.ID, xapi.ErrConflict)
				}
			}
			if len(todo) == 0 {
				continue
			}
			var b strings.Builder
			b.WriteString("INSERT INTO xapi_statements (id, hash, statement, client_id, stored_at) VALUES ")
			args := make([]any, 0, 5*len(todo))
			for i, st := range todo {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?)")
				args = append(args, st.ID, st.Hash, string(st.JSON), st.Client, micros(st.Stored))
			}
			b.WriteString(" ON CONFLICT (id) DO NOTHING")
			res, err := tx.ExecContext(ctx, s.q(b.String()), args...)
			if err != nil {
				return fmt.Errorf("store: save statements: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("store: save statements: %w", err)
			}
			if int(n) != len(todo) {
				// Another request stored some of these ids meanwhile:
				// compare again.
				again, err := s.statementHashes(ctx, tx, todo)
				if err != nil {
					return err
				}
				for _, st := range todo {
					if h, ok := again[st.ID]; ok && h != st.Hash {
						return fmt.Errorf("statement %s: %w: a different statement has this id", st.ID, xapi.ErrConflict)
					}
				}
			}
			fresh += int(n)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, xapi.ErrConflict) {
			return 0, err
		}
		return 0, fmt.Errorf("store: save statements: %w", err)
	}
	return fresh, nil
}

func (s *DB) statementHashes(ctx context.Context, tx *sql.Tx, ss []xapi.Stored) (map[string]string, error) {
	q := "SELECT id, hash FROM xapi_statements WHERE id IN (?" + strings.Repeat(", ?", len(ss)-1) + ")"
	args := make([]any, len(ss))
	for i, st := range ss {
		args[i] = st.ID
	}
	rows, err := tx.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: read statements: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, err
		}
		out[id] = h
	}
	return out, rows.Err()
}

// StatementByID implements xapi.Store.
func (s *DB) StatementByID(ctx context.Context, id string) (xapi.Stored, error) {
	var st xapi.Stored
	var js string
	var at int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT id, hash, statement, client_id, stored_at FROM xapi_statements WHERE id = ?"), id).
		Scan(&st.ID, &st.Hash, &js, &st.Client, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("statement %s: %w", id, xapi.ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("store: statement %s: %w", id, err)
	}
	st.JSON, st.Stored = []byte(js), fromMicros(at)
	return st, nil
}

// StatementCount counts the stored statements (tests and statistics).
func (s *DB) StatementCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM xapi_statements").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count statements: %w", err)
	}
	return n, nil
}

const lmsClientCols = "id, client_key, secret_hash, name, issuer, created_by, created_at, revoked_at"

func scanLMSClient(sc interface{ Scan(...any) error }) (xapi.Client, error) {
	var c xapi.Client
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(&c.ID, &c.Key, &c.SecretHash, &c.Name, &c.Issuer, &c.CreatedBy, &created, &revoked); err != nil {
		return c, err
	}
	c.CreatedAt = fromMicros(created)
	if revoked.Valid {
		t := fromMicros(revoked.Int64)
		c.RevokedAt = &t
	}
	return c, nil
}

// CreateLMSClient implements xapi.Store.
func (s *DB) CreateLMSClient(ctx context.Context, c xapi.Client) error {
	_, err := s.db.ExecContext(ctx, s.q("INSERT INTO lms_clients ("+lmsClientCols+") VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"),
		c.ID, c.Key, c.SecretHash, c.Name, c.Issuer, c.CreatedBy, micros(c.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("LMS client %s: %w", c.Key, xapi.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: create LMS client: %w", err)
	}
	return nil
}

func (s *DB) lmsClientWhere(ctx context.Context, what, cond string, arg any) (xapi.Client, error) {
	c, err := scanLMSClient(s.db.QueryRowContext(ctx, s.q("SELECT "+lmsClientCols+" FROM lms_clients WHERE "+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("LMS client %s: %w", what, xapi.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("store: LMS client %s: %w", what, err)
	}
	return c, nil
}

// LMSClientByKey implements xapi.Store.
func (s *DB) LMSClientByKey(ctx context.Context, key string) (xapi.Client, error) {
	return s.lmsClientWhere(ctx, key, "client_key = ?", key)
}

// LMSClientByID implements xapi.Store.
func (s *DB) LMSClientByID(ctx context.Context, id string) (xapi.Client, error) {
	return s.lmsClientWhere(ctx, id, "id = ?", id)
}

// LMSClients implements xapi.Store.
func (s *DB) LMSClients(ctx context.Context, issuer string) ([]xapi.Client, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+lmsClientCols+" FROM lms_clients WHERE issuer = ? ORDER BY created_at DESC, id"), issuer)
	if err != nil {
		return nil, fmt.Errorf("store: LMS clients: %w", err)
	}
	defer rows.Close()
	var out []xapi.Client
	for rows.Next() {
		c, err := scanLMSClient(rows)
		if err != nil {
			return nil, fmt.Errorf("store: LMS clients: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeLMSClient implements xapi.Store.
func (s *DB) RevokeLMSClient(ctx context.Context, issuer, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q("UPDATE lms_clients SET revoked_at = COALESCE(revoked_at, ?) WHERE issuer = ? AND id = ?"), micros(at), issuer, id)
	if err != nil {
		return fmt.Errorf("store: revoke LMS client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("LMS client %s: %w", id, xapi.ErrNotFound)
	}
	return nil
}
