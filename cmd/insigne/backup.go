package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/insigne/insigne/backup"
	"github.com/insigne/insigne/store"
)

// cmdBackup: insigne backup --out FILE. It runs next to a serving
// instance: the SQLite database is snapshotted with VACUUM INTO (one read
// transaction), then the key file and the evidence are added. With
// INSIGNE_DATABASE_URL the database is PostgreSQL and is left to pg_dump
// (README); the archive then holds the key file and the evidence.
func cmdBackup(ctx context.Context, args []string, e env) error {
	fs := newFlags("backup", e)
	dataDir := fs.String("data", orEnv(e, "INSIGNE_DATA_DIR", "insigne-data"), "data directory (INSIGNE_DATA_DIR)")
	out := fs.String("out", "", "archive to write (.tar.gz); - for standard output")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 || *out == "" {
		return usageError{"backup takes --out FILE and no arguments"}
	}
	if _, err := os.Stat(*dataDir); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	src := backup.Source{EvidenceDir: filepath.Join(*dataDir, backup.EvidenceDir), TempDir: filepath.Dir(*out)}
	if *out == "-" {
		src.TempDir = ""
	}
	if e.getenv("INSIGNE_DATABASE_URL") == "" {
		dbPath := filepath.Join(*dataDir, backup.DatabaseFile)
		src.Snapshot = func(ctx context.Context, p string) error { return store.SnapshotSQLite(ctx, dbPath, p) }
	}
	if e.getenv("INSIGNE_KEK") == "" {
		src.KEKPath = filepath.Join(*dataDir, backup.KEKFile)
	}
	w := e.stdout
	var f *os.File
	if *out != "-" {
		// Written under a temporary name and renamed when whole: a failed
		// backup never leaves a file that looks like one.
		f, err = os.CreateTemp(filepath.Dir(*out), ".insigne-backup-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	m, err := backup.Create(ctx, w, src)
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "backup written to %s: %d files, database %s\n", *out, len(m.Files), m.Database)
	}
	if !m.KEK {
		fmt.Fprintln(e.stderr, "note: the key-encryption key comes from INSIGNE_KEK and is not in the archive; keep it with the backup")
	}
	if m.Database == "postgres" {
		fmt.Fprintln(e.stderr, "note: the PostgreSQL database is not in the archive; dump it with pg_dump (see README)")
	}
	return nil
}

// cmdRestore: insigne restore [--force] FILE into the data directory.
func cmdRestore(ctx context.Context, args []string, e env) error {
	fs := newFlags("restore", e)
	dataDir := fs.String("data", orEnv(e, "INSIGNE_DATA_DIR", "insigne-data"), "data directory to restore into (INSIGNE_DATA_DIR)")
	force := fs.Bool("force", false, "replace the files of a data directory that is not empty")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError{"restore takes one archive"}
	}
	in := e.stdin
	if rest[0] != "-" {
		f, err := os.Open(rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	m, err := backup.Restore(ctx, in, *dataDir, *force)
	if errors.Is(err, backup.ErrNotEmpty) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %d files (backup of %s, database %s) into %s\n", len(m.Files), m.CreatedAt.Format("2006-01-02T15:04:05Z"), m.Database, *dataDir)
	if !m.KEK {
		fmt.Fprintln(e.stdout, "the key-encryption key is not in the archive: set INSIGNE_KEK to the key the backed-up instance used")
	}
	return nil
}
