package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/internal/smtpsink"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
)

func TestAccountsCommand(t *testing.T) {
	data := t.TempDir()
	code, out, stderr := insigne(t, "", "accounts", "sweep", "--data", data)
	if code != 0 || !strings.Contains(out, "suspended 0") {
		t.Fatalf("sweep of an empty instance: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := insigne(t, "", "accounts", "reinstate", "--data", data, "nobody@example.org"); code != 2 || !strings.Contains(stderr, "not found") {
		t.Fatalf("reinstate an unknown account: %d %s", code, stderr)
	}
	if code, _, _ := insigne(t, "", "accounts", "remove"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
}

// TestAccountsDelete: insigne accounts delete EMAIL removes the person and
// the bytes of the evidence they uploaded, says so without the address,
// and refuses bad input with exit 2.
func TestAccountsDelete(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	for _, args := range [][]string{{"delete"}, {"delete", "not-an-address"}, {"delete", "Ana <ana@example.org>"}, {"delete", "a@example.org", "b@example.org"}} {
		if code, _, stderr := insigne(t, "", append([]string{"accounts"}, append(args, "--data", data)...)...); code != 2 || stderr == "" {
			t.Errorf("accounts %v: exit %d, %q", args, code, stderr)
		}
	}
	if code, _, stderr := insigne(t, "", "accounts", "delete", "--data", data, "nobody@example.org"); code != 2 || !strings.Contains(stderr, "not found") {
		t.Fatalf("delete an unknown person: %d %s", code, stderr)
	}

	// Ana has an account and uploaded an evidence file.
	db, err := store.Open(ctx, filepath.Join(data, "insigne.db"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, auth.User{Email: "ana@example.org", Name: "Ana", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	blobs := store.DiskBlobs{Dir: filepath.Join(data, "evidence")}
	content := []byte("le compte rendu d'Ana")
	sha, size, err := blobs.Put(ctx, bytes.NewReader(content), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(content); hex.EncodeToString(h[:]) != sha {
		t.Fatal("blob name")
	}
	if err := db.PutBlob(ctx, issuing.Blob{SHA256: sha, MediaType: "text/plain", Size: size, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	db.Audit(ctx, issuing.AuditEntry{At: time.Now(), Actor: "user:" + u.ID, Action: "evidence.upload", Target: sha})
	db.Close()
	file := filepath.Join(data, "evidence", sha[:2], sha)
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := insigne(t, "", "accounts", "delete", "--data", data, " Ana@Example.org")
	if code != 0 || !strings.Contains(out, "account "+u.ID) || !strings.Contains(out, "1 evidence files removed") || strings.Contains(out+stderr, "ana@") {
		t.Fatalf("delete: %d %q %q", code, out, stderr)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the evidence file is still there: %v", err)
	}
	if code, _, _ := insigne(t, "", "accounts", "delete", "--data", data, "ana@example.org"); code != 2 {
		t.Fatalf("deleted twice: %d", code)
	}
}

// TestAccountNoticesBySMTP: the notices before suspension and before
// deletion go out through the SMTP server configured for serve
// (INSIGNE_SMTP_ADDR), to the account's address, once each.
func TestAccountNoticesBySMTP(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	sink := smtpsink.New(t)
	vars := map[string]string{"INSIGNE_SMTP_ADDR": sink.Addr, "INSIGNE_SMTP_FROM": "insigne@academie.example",
		"INSIGNE_ACCOUNT_SUSPEND_AFTER": "3d", "INSIGNE_ACCOUNT_DELETE_AFTER": "2d", "INSIGNE_ACCOUNT_NOTICE": "1d"}
	if code, _, stderr := insigneEnv(t, vars, "accounts", "sweep", "--data", data); code != 0 {
		t.Fatalf("first sweep: %d %s", code, stderr)
	}
	db, err := store.Open(ctx, filepath.Join(data, "insigne.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Eve was last seen 2.5 days ago: her suspension is due within the
	// notice. Fred's account was suspended 1.5 days ago: his deletion is.
	if _, err := db.CreateUser(ctx, auth.User{Email: "eve@example.org", CreatedAt: now.Add(-60 * time.Hour), LastSeen: now.Add(-60 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	fred, err := db.CreateUser(ctx, auth.User{Email: "fred@example.org", CreatedAt: now.Add(-200 * time.Hour), LastSeen: now.Add(-200 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.SuspendAccount(ctx, fred.ID, now.Add(-200*time.Hour), now.Add(-36*time.Hour), issuing.AuditEntry{At: now, Actor: "test", Action: "account.suspend"}); err != nil || !ok {
		t.Fatalf("suspend Fred: %v %v", ok, err)
	}
	db.Close()

	code, out, stderr := insigneEnv(t, vars, "accounts", "sweep", "--data", data)
	if code != 0 || !strings.Contains(out, "suspension notices 1, suspended 0, deletion notices 1, deleted 0") {
		t.Fatalf("sweep: %d %q %q", code, out, stderr)
	}
	for to, subject := range map[string]string{"eve@example.org": "suspendu", "fred@example.org": "supprim"} {
		m := sink.To(to)
		if len(m) != 1 || m[0].From != "insigne@academie.example" || !strings.Contains(m[0].Data, subject) {
			t.Fatalf("notice to %s: %+v", to, m)
		}
	}
	// Announced once; the steps wait for their notice period.
	if code, out, _ := insigneEnv(t, vars, "accounts", "sweep", "--data", data); code != 0 || !strings.Contains(out, "suspension notices 0, suspended 0, deletion notices 0, deleted 0") {
		t.Fatalf("second sweep: %d %q", code, out)
	}
	if len(sink.To("eve@example.org")) != 1 || len(sink.To("fred@example.org")) != 1 {
		t.Fatal("a notice was sent twice")
	}
}
