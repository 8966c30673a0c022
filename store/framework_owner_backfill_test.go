package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// Migration 0018 gives the frameworks imported before owners were
// recorded the issuer of whoever imported their first version; official
// frameworks, root's imports and importers tied to no single issuer stay
// the operator's, and frameworks with an owner keep theirs. The test lays
// down what such a database held, then applies the migration again.
func TestFrameworkOwnerBackfill(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			for _, slug := range []string{"ac-a", "ac-b", "ac-c"} {
				mkIssuer(t, db, slug)
			}
			driver := "sqlite"
			if strings.HasPrefix(dsn, "postgres") {
				driver = "pgx"
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			exec := func(q string, args ...any) {
				t.Helper()
				if driver == "pgx" {
					for i := 1; strings.Contains(q, "?"); i++ {
						q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
					}
				}
				if _, err := raw.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for _, u := range []string{"u-one", "u-two", "u-trainer"} {
				exec("INSERT INTO users (id, email, created_at) VALUES (?, ?, 0)", u, u+"@example.org")
			}
			exec("INSERT INTO memberships (user_id, issuer, role) VALUES ('u-one', 'ac-b', 'admin'), ('u-one', 'ac-a', 'trainer'), " +
				"('u-two', 'ac-a', 'admin'), ('u-two', 'ac-b', 'admin'), ('u-trainer', 'ac-c', 'trainer')")
			exec("INSERT INTO api_tokens (id, hash, name, issuer, scopes, role, created_at) VALUES ('tok1', 'h', 'moodle', 'ac-a', 'issuers:admin', 'admin', 0)")

			type fw struct {
				id, source, owner string
				by                []string // who imported each version
				want              string
			}
			fws := []fw{
				{id: "f-token", source: "case", by: []string{"token:tok1", "user:u-two"}, want: "ac-a"},
				{id: "f-user", source: "moodle-csv", by: []string{"user:u-one"}, want: "ac-b"},
				{id: "f-several", source: "case", by: []string{"user:u-two"}, want: ""},
				{id: "f-trainer", source: "case", by: []string{"user:u-trainer"}, want: ""},
				{id: "f-gone", source: "case", by: []string{"user:u-deleted", "token:tok1"}, want: ""},
				{id: "f-root", source: "case", by: []string{"root"}, want: ""},
				{id: "f-official", source: competency.SourceOfficial, by: []string{"system", "token:tok1"}, want: ""},
				{id: "f-owned", source: "case", owner: "ac-c", by: []string{"user:u-one"}, want: "ac-c"},
			}
			for _, f := range fws {
				for i, by := range f.by {
					rec := competency.Record{ID: f.id, Title: f.id, Hash: fmt.Sprint(i), Source: f.source, CreatedBy: by, CreatedAt: t0, Owner: f.owner, Data: []byte(`{}`)}
					if _, _, err := db.AddFrameworkVersion(ctx, rec, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Migrations run once: forget 0018 to run it on this data.
			exec("DELETE FROM schema_migrations WHERE version = 18")
			db.Close()
			if db, err = store.Open(ctx, dsn); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, f := range fws {
				vs, err := db.FrameworkVersions(ctx, f.id)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					if v.Owner != f.want {
						t.Errorf("%s version %d: owner %q, want %q", f.id, v.Version, v.Owner, f.want)
					}
				}
			}
		})
	}
}
