// Package backup writes and restores an Insigne data directory as one
// archive: a consistent snapshot of the embedded database, the
// key-encryption key file and the evidence blobs, with a manifest that
// lists every file with its size and SHA-256.
//
// The archive is a gzip-compressed tar whose first entry is manifest.json,
// so a restore checks each file as it streams and refuses the archive
// before anything reaches the data directory when one does not match.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Format and Version identify the archive layout.
const (
	Format  = "insigne-backup"
	Version = 1

	manifestName = "manifest.json"
	// DatabaseFile, KEKFile and EvidenceDir are the names inside both the
	// archive and the data directory.
	DatabaseFile = "insigne.db"
	KEKFile      = "kek"
	EvidenceDir  = "evidence"
)

// Manifest describes an archive.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	// Database is "sqlite" when the database file is in the archive, or
	// "postgres" when it is not (it is dumped with pg_dump; see README).
	Database string `json:"database"`
	// KEK is false when the key-encryption key came from INSIGNE_KEK and
	// is therefore not in the archive: whoever restores must supply it.
	KEK   bool   `json:"kek"`
	Files []File `json:"files"`
}

// File is one file of the archive.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Source is what a backup is taken from.
type Source struct {
	// Snapshot writes a consistent copy of the embedded database to path
	// while the service may be writing to it; nil when the database is
	// PostgreSQL (not part of the archive).
	Snapshot func(ctx context.Context, path string) error
	// KEKPath is the key file; empty when the key comes from the
	// environment.
	KEKPath string
	// EvidenceDir holds the evidence blobs (may not exist yet).
	EvidenceDir string
	// TempDir receives the database snapshot while the archive is written.
	TempDir string
	Now     func() time.Time
}

// Errors callers may test for.
var (
	ErrNotEmpty = errors.New("backup: the data directory is not empty")
	ErrCorrupt  = errors.New("backup: the archive is damaged or not an Insigne backup")
)

type entry struct {
	name string // inside the archive
	src  string // on disk
	File
}

// Create writes an archive of src to w and returns its manifest. The
// database is snapshotted first and the evidence copied after: evidence is
// stored before the row that names it, so every blob the snapshot refers
// to is already on disk when the files are copied.
func Create(ctx context.Context, w io.Writer, src Source) (*Manifest, error) {
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	m := &Manifest{Format: Format, Version: Version, CreatedAt: now().UTC(), Database: "postgres"}
	var entries []entry
	if src.Snapshot != nil {
		tmp, err := os.MkdirTemp(src.TempDir, "insigne-backup-*")
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		defer os.RemoveAll(tmp)
		snap := filepath.Join(tmp, DatabaseFile)
		if err := src.Snapshot(ctx, snap); err != nil {
			return nil, fmt.Errorf("backup: database snapshot: %w", err)
		}
		m.Database = "sqlite"
		entries = append(entries, entry{name: DatabaseFile, src: snap})
	}
	if src.KEKPath != "" {
		m.KEK = true
		entries = append(entries, entry{name: KEKFile, src: src.KEKPath})
	}
	if src.EvidenceDir != "" {
		err := filepath.WalkDir(src.EvidenceDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == src.EvidenceDir {
					return fs.SkipDir
				}
				return err
			}
			// Temporary upload files (".upload-*") are not evidence yet.
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(src.EvidenceDir, p)
			if err != nil {
				return err
			}
			entries = append(entries, entry{name: path.Join(EvidenceDir, filepath.ToSlash(rel)), src: p})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("backup: evidence: %w", err)
		}
	}
	// Checksums first, so that the manifest can lead the archive.
	for i := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sum, size, err := hashFile(entries[i].src)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		entries[i].File = File{Path: entries[i].name, Size: size, SHA256: sum}
		m.Files = append(m.Files, entries[i].File)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := writeEntry(tw, manifestName, m.CreatedAt, int64(len(mb)), strings.NewReader(string(mb))); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(e.src)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		// The file is hashed again as it is copied: a file that changed
		// since it was listed makes the backup fail rather than lie.
		h := sha256.New()
		err = writeEntry(tw, e.name, m.CreatedAt, e.Size, io.TeeReader(f, h))
		f.Close()
		if err != nil {
			return nil, err
		}
		if hex.EncodeToString(h.Sum(nil)) != e.SHA256 {
			return nil, fmt.Errorf("backup: %s changed while it was copied", e.name)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

func writeEntry(tw *tar.Writer, name string, at time.Time, size int64, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	n, err := io.Copy(tw, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes, %d expected", n, size)
	}
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	return nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// maxManifest caps the manifest read before anything is trusted.
const maxManifest = 64 << 20

// Restore unpacks an archive into dir. It refuses a dir that holds
// anything unless force is set (then the files of the archive replace
// those of the same names). Files are written to a staging directory
// inside dir and each is checked against the manifest; only a complete
// archive whose every checksum matches is moved into place.
func Restore(ctx context.Context, r io.Reader, dir string, force bool) (*Manifest, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	existing, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if len(existing) > 0 && !force {
		return nil, fmt.Errorf("%w: %s holds %d entries (use --force to replace them)", ErrNotEmpty, dir, len(existing))
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName || hdr.Size > maxManifest {
		return nil, fmt.Errorf("%w: the first entry must be %s", ErrCorrupt, manifestName)
	}
	mb, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if m.Format != Format || m.Version != Version {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version %d", ErrCorrupt, m.Format, m.Version, Format, Version)
	}
	want := map[string]File{}
	for _, f := range m.Files {
		if !validName(f.Path) {
			return nil, fmt.Errorf("%w: manifest names %q", ErrCorrupt, f.Path)
		}
		want[f.Path] = f
	}
	stage, err := os.MkdirTemp(dir, ".restore-*")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(stage)
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		f, ok := want[hdr.Name]
		if !ok || seen[hdr.Name] || hdr.Typeflag != tar.TypeReg || hdr.Size != f.Size {
			return nil, fmt.Errorf("%w: unexpected entry %q", ErrCorrupt, hdr.Name)
		}
		seen[hdr.Name] = true
		if err := extract(tr, filepath.Join(stage, filepath.FromSlash(hdr.Name)), f); err != nil {
			return nil, err
		}
	}
	if len(seen) != len(want) {
		var missing []string
		for p := range want {
			if !seen[p] {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: missing %s", ErrCorrupt, strings.Join(missing, ", "))
	}
	if force {
		// A database restored next to an older write-ahead log would
		// replay that log over it.
		for _, n := range []string{DatabaseFile + "-wal", DatabaseFile + "-shm"} {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("restore: %w", err)
			}
		}
	}
	// Move into place: evidence blob by blob (content-addressed, so an
	// existing one is the same file), then the key, then the database.
	var evidence, top []string
	for p := range want {
		if strings.HasPrefix(p, EvidenceDir+"/") {
			evidence = append(evidence, p)
		} else {
			top = append(top, p)
		}
	}
	sort.Strings(evidence)
	sort.Sort(sort.Reverse(sort.StringSlice(top))) // kek before insigne.db
	for _, p := range append(evidence, top...) {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if err := os.Rename(filepath.Join(stage, filepath.FromSlash(p)), dst); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	return &m, nil
}

func extract(r io.Reader, dst string, f File) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: %s: %w", f.Path, err)
	}
	if n != f.Size || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%w: %s does not match its checksum", ErrCorrupt, f.Path)
	}
	return nil
}

// validName accepts the names a backup writes and nothing that could
// escape the data directory.
func validName(p string) bool {
	if p == DatabaseFile || p == KEKFile {
		return true
	}
	rest, ok := strings.CutPrefix(p, EvidenceDir+"/")
	if !ok || path.Clean(p) != p {
		return false
	}
	for _, part := range strings.Split(rest, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}
