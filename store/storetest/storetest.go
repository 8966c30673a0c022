// Package storetest gives tests fresh, isolated databases: an SQLite file
// always, and a PostgreSQL schema of its own when INSIGNE_TEST_DATABASE_URL
// is set (CI sets it; without it the PostgreSQL half skips, or fails in
// strict mode).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/insigne/insigne/internal/testenv"
)

// EnvURL names the PostgreSQL server tests may use.
const EnvURL = "INSIGNE_TEST_DATABASE_URL"

// Backend is one database a test runs against.
type Backend struct {
	Name string
	// DSN opens it with store.Open; call it in the subtest, which it may
	// skip.
	DSN func(t testing.TB) string
}

// Backends lists SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", DSN: SQLite},
		{Name: "postgres", DSN: Postgres},
	}
}

// SQLite returns the path of a new database file in the test's directory.
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "insigne.db")
}

// Postgres creates a schema of its own for the test, dropped at the end,
// and returns a DSN whose search_path points at it.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		testenv.Skip(t, "PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvURL)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		testenv.Skip(t, "PostgreSQL at %s is not usable: %v", EnvURL, err)
	}
	t.Cleanup(func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
