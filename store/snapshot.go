package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// SnapshotSQLite writes a consistent copy of the SQLite database at
// dbPath to out (which must not exist) with VACUUM INTO, while other
// processes may be writing to it: the copy is one read transaction's view,
// with the write-ahead log folded in. The database is opened read-only,
// no migration runs, and the copy passes an integrity check before it is
// accepted.
func SnapshotSQLite(ctx context.Context, dbPath, out string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: snapshot: %s already exists", out)
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		os.Remove(out)
		return fmt.Errorf("store: snapshot: %w", err)
	}
	if err := integrityCheck(ctx, out); err != nil {
		os.Remove(out)
		return err
	}
	return nil
}

func integrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("store: integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: integrity check of %s: %s", path, res)
	}
	return nil
}
