package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/insigne/insigne/issuing"
)

// DiskBlobs keeps evidence files on disk under Dir, named by their SHA-256.
type DiskBlobs struct {
	Dir string
	// Wrap, when set, stands between the upload and its temporary file
	// (tests inject a disk that fills up).
	Wrap func(io.Writer) io.Writer
}

var _ issuing.BlobStore = DiskBlobs{}

// Put implements issuing.BlobStore. The bytes go to a temporary file that
// is synced and renamed into place only when complete, so a full disk or a
// crash never leaves half a file under a real name.
func (d DiskBlobs) Put(ctx context.Context, r io.Reader, max int64) (string, int64, error) {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("evidence store: %w", err)
	}
	tmp, err := os.CreateTemp(d.Dir, ".upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("evidence store: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var file io.Writer = tmp
	if d.Wrap != nil {
		file = d.Wrap(tmp)
	}
	n, err := io.Copy(io.MultiWriter(file, h), io.LimitReader(r, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("the file is larger than %d bytes: %w", max, issuing.ErrTooLarge)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, issuing.ErrTooLarge) {
			return "", 0, err
		}
		if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
			return "", 0, fmt.Errorf("evidence store: %w: %w", issuing.ErrNoSpace, err)
		}
		return "", 0, fmt.Errorf("evidence store: write: %w", err)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	dst := d.path(sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("evidence store: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("evidence store: %w", err)
	}
	return sha, n, nil
}

func (d DiskBlobs) path(sha string) string { return filepath.Join(d.Dir, sha[:2], sha) }

// Open implements issuing.BlobStore.
func (d DiskBlobs) Open(ctx context.Context, sha string) (io.ReadCloser, error) {
	if len(sha) != 64 {
		return nil, fmt.Errorf("evidence %q: %w", sha, issuing.ErrNotFound)
	}
	f, err := os.Open(d.path(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("evidence %s: %w", sha, issuing.ErrNotFound)
	}
	return f, err
}

// Remove deletes a file; one already gone is not an error.
func (d DiskBlobs) Remove(ctx context.Context, sha string) error {
	if _, err := hex.DecodeString(sha); err != nil || len(sha) != 64 {
		return fmt.Errorf("evidence %q: %w", sha, issuing.ErrNotFound)
	}
	if err := os.Remove(d.path(sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("evidence store: %w", err)
	}
	return nil
}
