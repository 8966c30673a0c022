package keys

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func checkMode0600(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("%s has mode %04o, want 0600", path, perm)
	}
}

func TestLoadOrCreateKEK(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	kek, err := LoadOrCreateKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kek) != KEKSize || bytes.Equal(kek, make([]byte, KEKSize)) {
		t.Fatalf("kek = %x", kek)
	}
	checkMode0600(t, path)
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(onDisk, kek) {
		t.Fatal("file does not hold the returned key")
	}
	again, err := LoadOrCreateKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, kek) {
		t.Fatal("second load returned another key")
	}
	if _, err := NewSealer(kek); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateKEKText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	want := bytes.Repeat([]byte{7}, KEKSize)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateKEK(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %x, %v", got, err)
	}
}

func TestLoadOrCreateKEKRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o666} {
		path := filepath.Join(dir, "kek-"+mode.String())
		if err := os.WriteFile(path, make([]byte, KEKSize), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKEK(path)
		if err == nil || !strings.Contains(err.Error(), "group or others") || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v", mode, err)
		}
	}
	for name, content := range map[string][]byte{
		"empty":     nil,
		"short":     make([]byte, 16),
		"long":      make([]byte, 33),
		"bad text":  []byte("this is not a key\n"),
		"huge file": make([]byte, 4096),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKEK(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadOrCreateKEK(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	if _, err := LoadOrCreateKEK(filepath.Join(dir, "missing", "kek")); err == nil {
		t.Error("created a key in a missing directory")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key.jwk")
	if err := WriteFile(path, []byte("first, longer content")); err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
	if runtime.GOOS != "windows" {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFile(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	checkMode0600(t, path)
	got, _ := os.ReadFile(path)
	if string(got) != "second" {
		t.Fatalf("content = %q, want the file truncated and rewritten", got)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "key"), nil); err == nil {
		t.Fatal("wrote into a missing directory")
	}
}
