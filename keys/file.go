package keys

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// LoadOrCreateKEK returns the key-encryption key stored at path,
// creating the file with 32 random bytes and mode 0600 if it does not
// exist. This is the default for the embedded setup; deployments with a
// secret manager set INSIGNE_KEK instead.
//
// An existing file must be a regular file that neither group nor others
// can access: a key-encryption key anyone on the host can read protects
// nothing, so it is refused rather than silently used. Besides 32 raw
// bytes, the file may hold the key as text in any form ParseKEK accepts.
func LoadOrCreateKEK(path string) ([]byte, error) {
	kek, err := readKEK(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kek, err
	}
	kek = make([]byte, KEKSize)
	if _, err := io.ReadFull(rand.Reader, kek); err != nil {
		return nil, fmt.Errorf("keys: generate key-encryption key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		return readKEK(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: create key-encryption key file: %w", err)
	}
	if err := writeAndClose(f, kek); err != nil {
		// A partial file would be refused on the next start; remove it so
		// that the next start creates a fresh key instead.
		os.Remove(path)
		return nil, fmt.Errorf("keys: write key-encryption key file: %w", err)
	}
	return kek, nil
}

func readKEK(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("keys: open key-encryption key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keys: stat key-encryption key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: key-encryption key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; its ACLs are not checked here.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keys: key-encryption key file %s has mode %04o, so group or others can access it; run chmod 600 on it (and consider the key exposed)", path, perm)
	}
	// A valid file is at most a few dozen bytes; the cap keeps a wrong
	// path (say, a log file) from being read whole.
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("keys: read key-encryption key file: %w", err)
	}
	if len(data) == KEKSize {
		return data, nil
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("keys: key-encryption key file %s is empty", path)
	}
	if kek, err := ParseKEK(string(data)); err == nil {
		return kek, nil
	}
	return nil, fmt.Errorf("keys: key-encryption key file %s holds %d bytes, want %d raw bytes or a hex/base64 text key", path, len(data), KEKSize)
}

// WriteFile writes data to path with mode 0600, creating the file or
// truncating it. An existing file is switched to 0600 before the data
// is written, so a secret never sits in a file others can read.
func WriteFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	// OpenFile's mode only applies to new files (and is masked by umask).
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := writeAndClose(f, data); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return nil
}

// writeAndClose writes data, flushes it to stable storage and closes f.
func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
