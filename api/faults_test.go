package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// fullDisk is a file that accepts `room` bytes, then fails as a full
// disk does.
type fullDisk struct {
	w    io.Writer
	room *atomic.Int64
}

func (d fullDisk) Write(p []byte) (int, error) {
	left := d.room.Add(-int64(len(p)))
	if left < 0 {
		n := len(p) + int(left)
		if n < 0 {
			n = 0
		}
		d.w.Write(p[:n])
		return n, &os.PathError{Op: "write", Path: "evidence", Err: syscall.ENOSPC}
	}
	return d.w.Write(p)
}

// TestDiskFullDuringEvidenceUpload fills the disk in the middle of an
// evidence upload: the answer is a clear 507, nothing is left on disk or
// in the database, and the next upload, once there is room, succeeds.
func TestDiskFullDuringEvidenceUpload(t *testing.T) {
	dir := t.TempDir()
	room := &atomic.Int64{}
	room.Store(64 << 10)
	ts := newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) {
		kek := make([]byte, keys.KEKSize)
		rand.Read(kek)
		sealer, _ := keys.NewSealer(kek)
		canon, _ := shared(t)
		blobs := store.DiskBlobs{Dir: dir, Wrap: func(w io.Writer) io.Writer { return fullDisk{w: w, room: room} }}
		c.Issuing = issuing.New(issuing.Config{Store: c.Idempotency.(*store.DB), Blobs: blobs, Sealer: sealer, Canon: canon, BaseURL: base})
	})
	file := pngBytes(1 << 20)
	copy(file[200:], []byte("distinct"))
	// Sent by hand: ts.do counts every 5xx as a failure, and 507 is the
	// right answer here.
	hr, _ := http.NewRequest("POST", ts.URL+"/api/v1/evidence?name=photo.png", bytes.NewReader(file))
	hr.Header.Set("Authorization", "Bearer "+ts.Root)
	hr.Header.Set("Content-Type", "image/png")
	raw, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	res := &resp{Status: raw.StatusCode, Header: raw.Header, Body: body}
	wantError(t, "upload onto a full disk", res, http.StatusInsufficientStorage, "insufficient_storage", "")
	var files []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("a failed upload left %v", files)
	}
	// No record either: the evidence URL of those bytes is unknown.
	sha := fmt.Sprintf("%x", sha256.Sum256(file))
	if res := ts.do(t, "GET", "/evidence/"+sha, req{}); res.Status != http.StatusNotFound {
		t.Fatalf("GET the evidence that failed: %s", res)
	}
	room.Store(10 << 20)
	up := ts.must(t, http.StatusCreated, "POST", "/api/v1/evidence?name=photo.png", req{Bearer: ts.Root, Body: file, ContentType: "image/png"}).obj(t)
	if up["sha256"] != sha {
		t.Fatalf("upload after the disk was freed: %v", up)
	}
	if got := ts.must(t, http.StatusOK, "GET", "/evidence/"+sha, req{}); len(got.Body) != len(file) {
		t.Fatalf("served %d bytes, want %d", len(got.Body), len(file))
	}
}
