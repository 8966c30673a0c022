package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// Migration 0019 fills the name column of achievements stored before it,
// and new versions keep it up to date.
func TestAchievementNameColumn(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			mkIssuer(t, db, "ac-a")
			mkAchievement(t, db, "ac-a", "ach-1") // {"name":"v1"}
			driver := "sqlite"
			if strings.HasPrefix(dsn, "postgres") {
				driver = "pgx"
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			name := func() string {
				t.Helper()
				var n string
				if err := raw.QueryRowContext(ctx, "SELECT name FROM achievements WHERE id = 'ach-1'").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if got := name(); got != "v1" {
				t.Fatalf("a new achievement's name: %q", got)
			}
			// As before the migration: no column; then run it again.
			for _, q := range []string{"ALTER TABLE achievements DROP COLUMN name", "DELETE FROM schema_migrations WHERE version = 19"} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			if db, err = store.Open(ctx, dsn); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := name(); got != "v1" {
				t.Fatalf("after the migration: name %q, want v1", got)
			}
		})
	}
}
