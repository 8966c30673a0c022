package store_test

import (
	"context"
	"testing"

	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// The PostgreSQL pool takes the size it is given, and a sensible default
// otherwise.
func TestPoolSize(t *testing.T) {
	for _, b := range storetest.Backends() {
		if b.Name != "postgres" {
			continue
		}
		dsn := b.DSN(t)
		for _, c := range []struct{ opt, want int }{{3, 3}, {0, store.DefaultMaxConns()}} {
			db, err := store.Open(context.Background(), dsn, store.WithMaxConns(c.opt))
			if err != nil {
				t.Fatal(err)
			}
			if got := db.Stats().MaxOpenConnections; got != c.want {
				t.Errorf("WithMaxConns(%d): pool of %d, want %d", c.opt, got, c.want)
			}
			db.Close()
		}
	}
	if n := store.DefaultMaxConns(); n < 4 {
		t.Errorf("default pool of %d connections, want at least 4", n)
	}
}
