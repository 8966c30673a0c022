package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insigne/insigne/issuing"
)

// TestSnapshotSQLiteWhileWriting snapshots a database another connection
// keeps writing to: the copy is whole (integrity check), opens as an
// Insigne database, and holds a prefix of the writes.
func TestSnapshotSQLiteWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, filepath.Join(dir, "insigne.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.Audit(ctx, issuing.AuditEntry{At: time.Now(), Actor: "t", Action: "test.write"}); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	out := filepath.Join(dir, "snap.db")
	err = SnapshotSQLite(ctx, filepath.Join(dir, "insigne.db"), out)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var n int64
	if err := snap.QueryRow("SELECT COUNT(*) FROM audit WHERE action = 'test.write'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 50 || n > written.Load() {
		t.Fatalf("snapshot holds %d writes; at least 50 and at most %d were committed", n, written.Load())
	}
	if err := SnapshotSQLite(ctx, filepath.Join(dir, "insigne.db"), out); err == nil {
		t.Fatal("a snapshot overwrote an existing file")
	}
	if err := SnapshotSQLite(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Fatal("a snapshot of a missing database succeeded")
	}
}
