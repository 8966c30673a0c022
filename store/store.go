// Package store keeps Insigne's data in PostgreSQL (through pgx) or in an
// embedded SQLite file (pure Go), behind the storage interfaces the domain
// packages declare. Both databases get the same logical schema from the
// versioned migrations in migrations/, applied at start-up; queries are
// written once with ? placeholders and rebound for PostgreSQL.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect names the database behind a DB.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is Insigne's database.
type DB struct {
	db      *sql.DB
	dialect Dialect
	// rebound holds short queries already rewritten for PostgreSQL (query
	// → rewritten), so that the hot reads do not rebuild their text on
	// every call; reboundN counts its entries.
	rebound  sync.Map
	reboundN atomic.Int64
}

// The rewritten queries kept: at most maxRebound, each with at most
// maxReboundArgs placeholders. Batch statements (IN lists, multi-row
// inserts) have one text per batch size, kilobytes long; their rewrite
// costs nothing next to their round trip, so they are not kept.
const (
	maxRebound     = 4096
	maxReboundArgs = 32
)

// Option changes how Open connects.
type Option func(*options)

type options struct {
	maxConns int
}

// WithMaxConns sets how many connections to PostgreSQL the node keeps at
// most (n < 1: the default, DefaultMaxConns). SQLite ignores it.
func WithMaxConns(n int) Option {
	return func(o *options) { o.maxConns = n }
}

// DefaultMaxConns is the PostgreSQL pool size when none is given: two
// connections per core this process may use, and at least four. Every
// connection is a server process; beyond a few per core they only queue
// for the same cores, and on a shared machine their page tables make the
// kernel's memory scans (and so the latency tail) longer; see
// docs/performance.md, "Backpack".
func DefaultMaxConns() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// Open connects to dsn and applies the pending migrations. A dsn starting
// with postgres:// or postgresql:// is PostgreSQL; anything else is the
// path of an SQLite file (created when missing).
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var (
		db  *sql.DB
		err error
		d   Dialect
		o   options
	)
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxConns < 1 {
		o.maxConns = DefaultMaxConns()
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		d = Postgres
		db, err = sql.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(o.maxConns)
			db.SetMaxIdleConns(o.maxConns)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		path := strings.TrimPrefix(dsn, "sqlite:")
		// WAL lets readers run while one writer commits; immediate
		// transactions take the write lock up front, so two writers queue
		// on busy_timeout instead of failing to upgrade a read lock.
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err == nil {
			db.SetMaxOpenConns(4)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d, err)
	}
	s := &DB{db: db, dialect: d}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", d, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Dialect tells which database this is.
func (s *DB) Dialect() Dialect { return s.dialect }

// Ping checks that the database answers (readiness).
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d Dialect) ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with its number", base)
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: dialectSQL(d, string(b))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Two branches that each took the next number would otherwise apply
	// one file and silently skip the other on databases already past it.
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("store: migrations %s and %s share the number %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// dialectSQL adapts a migration: {{blob}} and {{serial}} become each
// database's types, and lines starting "-- postgres: " or "-- sqlite: "
// are statements for that database only (a comment in the other).
func dialectSQL(d Dialect, q string) string {
	if d == Postgres {
		q = strings.ReplaceAll(q, "-- postgres: ", "")
		return strings.NewReplacer("{{blob}}", "BYTEA", "{{serial}}", "BIGSERIAL PRIMARY KEY").Replace(q)
	}
	q = strings.ReplaceAll(q, "-- sqlite: ", "")
	return strings.NewReplacer("{{blob}}", "BLOB", "{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT").Replace(q)
}

// migrate applies the migrations not yet recorded, each in its own
// transaction. On PostgreSQL an advisory lock keeps two nodes starting
// together from applying the same migration twice.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7294518)"); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7294518)")
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"), m.version, m.name, micros(time.Now())); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// q rewrites ? placeholders as $1, $2… for PostgreSQL. Queries here never
// hold a literal question mark.
func (s *DB) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	out, n := rebind(query)
	if n <= maxReboundArgs && s.reboundN.Load() < maxRebound {
		if _, loaded := s.rebound.LoadOrStore(query, out); !loaded {
			s.reboundN.Add(1)
		}
	}
	return out
}

// rebind numbers the ? placeholders of query ($1, $2…) and says how many
// there are.
func rebind(query string) (string, int) {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String(), n
		}
		n++
		b.WriteString(query[:i])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
		query = query[i+1:]
	}
}

// tx runs fn in a transaction, committed when fn returns nil.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUnique tells a unique-constraint violation, whichever the database.
func isUnique(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// newID returns a random identifier for rows the store names itself.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Stats reports the connection pool's figures (for metrics and tests).
func (s *DB) Stats() sql.DBStats { return s.db.Stats() }
