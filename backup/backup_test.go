package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture lays out a data directory: a "database", a key file and two
// evidence blobs (plus an upload in progress, which is not evidence).
func fixture(t testing.TB) (Source, string) {
	t.Helper()
	dir := t.TempDir()
	must := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	must(filepath.Join(dir, KEKFile), "0123456789abcdef0123456789abcdef")
	must(filepath.Join(dir, EvidenceDir, "ab", "ab01"), "first evidence")
	must(filepath.Join(dir, EvidenceDir, "cd", "cd02"), "second evidence")
	must(filepath.Join(dir, EvidenceDir, ".upload-123"), "half an upload")
	src := Source{
		Snapshot: func(ctx context.Context, p string) error {
			return os.WriteFile(p, []byte("SQLite format 3\x00 pretend"), 0o600)
		},
		KEKPath: filepath.Join(dir, KEKFile), EvidenceDir: filepath.Join(dir, EvidenceDir), TempDir: t.TempDir(),
	}
	return src, dir
}

func archive(t testing.TB, src Source) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Create(context.Background(), &buf, src); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	src, dir := fixture(t)
	data := archive(t, src)
	out := filepath.Join(t.TempDir(), "restored")
	m, err := Restore(context.Background(), bytes.NewReader(data), out, false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Database != "sqlite" || !m.KEK || len(m.Files) != 4 {
		t.Fatalf("manifest %+v", m)
	}
	for _, p := range []string{KEKFile, "evidence/ab/ab01", "evidence/cd/cd02"} {
		a, _ := os.ReadFile(filepath.Join(dir, p))
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: restored %q, want %q (%v)", p, b, a, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, DatabaseFile)); !strings.HasPrefix(string(b), "SQLite format 3") {
		t.Errorf("database %q", b)
	}
	if _, err := os.Stat(filepath.Join(out, EvidenceDir, ".upload-123")); !errors.Is(err, os.ErrNotExist) {
		t.Error("an upload in progress was backed up")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".restore") {
			t.Errorf("staging directory %s left behind", e.Name())
		}
	}
}

func TestRestoreRefusesNonEmptyDirectory(t *testing.T) {
	src, _ := fixture(t)
	data := archive(t, src)
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, KEKFile), []byte("the key in use"), 0o600)
	if _, err := Restore(context.Background(), bytes.NewReader(data), out, false); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into a non-empty directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, KEKFile)); string(b) != "the key in use" {
		t.Fatal("the refused restore changed the key file")
	}
	os.WriteFile(filepath.Join(out, DatabaseFile+"-wal"), []byte("stale log"), 0o600)
	if _, err := Restore(context.Background(), bytes.NewReader(data), out, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, KEKFile)); string(b) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("forced restore left key %q", b)
	}
	if _, err := os.Stat(filepath.Join(out, DatabaseFile+"-wal")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a stale write-ahead log was kept next to the restored database")
	}
}

// rewrite decompresses an archive, lets edit change its tar bytes and
// compresses it again.
func rewrite(t *testing.T, data []byte, edit func([]byte) []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(edit(raw))
	zw.Close()
	return out.Bytes()
}

func TestRestoreRefusesDamage(t *testing.T) {
	src, _ := fixture(t)
	data := archive(t, src)
	cases := map[string][]byte{
		"flipped byte in evidence": rewrite(t, data, func(b []byte) []byte {
			return bytes.Replace(b, []byte("second evidence"), []byte("second evidencE"), 1)
		}),
		"truncated": data[:len(data)/2],
		"not gzip":  []byte("PK\x03\x04 a zip file"),
		"slip": func() []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			man := `{"format":"insigne-backup","version":1,"files":[{"path":"evidence/../../etc/x","size":1,"sha256":"00"}]}`
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(man))})
			tw.Write([]byte(man))
			tw.WriteHeader(&tar.Header{Name: "evidence/../../etc/x", Mode: 0o600, Size: 1})
			tw.Write([]byte("x"))
			tw.Close()
			zw.Close()
			return buf.Bytes()
		}(),
		"extra entry": func() []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			tw := tar.NewWriter(zw)
			man := `{"format":"insigne-backup","version":1,"files":[]}`
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(man))})
			tw.Write([]byte(man))
			tw.WriteHeader(&tar.Header{Name: "kek", Mode: 0o600, Size: 1})
			tw.Write([]byte("x"))
			tw.Close()
			zw.Close()
			return buf.Bytes()
		}(),
	}
	for name, archive := range cases {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "d")
			_, err := Restore(context.Background(), bytes.NewReader(archive), out, false)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("restore: %v, want ErrCorrupt", err)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 0 {
				t.Fatalf("a refused archive left %d entries in the data directory", len(entries))
			}
		})
	}
}

// FuzzRestore feeds arbitrary bytes to Restore: it never panics and
// writes nothing to the data directory unless the archive is whole.
func FuzzRestore(f *testing.F) {
	src, _ := fixture(f)
	f.Add(archive(f, src))
	f.Add([]byte{})
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := filepath.Join(t.TempDir(), "d")
		if _, err := Restore(context.Background(), bytes.NewReader(b), out, false); err == nil {
			return
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 0 {
			t.Fatalf("a refused archive left %d entries", len(entries))
		}
	})
}
