package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// each runs the test against SQLite and PostgreSQL: the conformance suite.
func each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			db, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			fn(t, db)
		})
	}
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func mkIssuer(t testing.TB, db *store.DB, slug string) {
	t.Helper()
	ks := []issuing.Key{
		{ID: slug + "-di1", Issuer: slug, Purpose: issuing.PurposeDI, Alg: "Ed25519", PublicMultibase: "z6Mk" + slug, Sealed: []byte{1, 2, 3}, CreatedAt: t0},
		{ID: slug + "-jwt1", Issuer: slug, Purpose: issuing.PurposeJWT, Alg: "P-256", PublicMultibase: "zDn" + slug, Sealed: []byte{4, 5}, CreatedAt: t0},
	}
	if err := db.CreateIssuer(context.Background(), issuing.Issuer{Slug: slug, Name: "Académie " + slug, URL: "https://" + slug + ".example", CreatedAt: t0}, ks,
		issuing.AuditEntry{Actor: "test", Action: "issuer.create", Issuer: slug}); err != nil {
		t.Fatal(err)
	}
}

func mkAchievement(t testing.TB, db *store.DB, issuer, id string) {
	t.Helper()
	if err := db.CreateAchievement(context.Background(), issuing.Achievement{ID: id, Issuer: issuer, Version: 1, Data: json.RawMessage(`{"name":"v1"}`), CreatedAt: t0}, issuing.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
}

func cred(id, issuer, ach string, idx int) issuing.Credential {
	return issuing.Credential{ID: id, Issuer: issuer, AchievementID: ach, AchievementVersion: 1, RecipientEmail: id + "@example.org",
		StatusList: 1, StatusIndex: idx, State: issuing.StateActive, Signed: json.RawMessage(`{"id":"urn:uuid:` + id + `"}`), CreatedAt: t0.Add(time.Duration(idx) * time.Second)}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			for range 2 {
				db, err := store.Open(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
		})
	}
}

func TestIssuersAndKeys(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		err := db.CreateIssuer(ctx, issuing.Issuer{Slug: "ac-lyon", Name: "again", CreatedAt: t0}, nil, issuing.AuditEntry{})
		if !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("duplicate slug: %v, want ErrConflict", err)
		}
		iss, err := db.Issuer(ctx, "ac-lyon")
		if err != nil || iss.Name != "Académie ac-lyon" || !iss.CreatedAt.Equal(t0) {
			t.Fatalf("Issuer = %+v, %v", iss, err)
		}
		if _, err := db.Issuer(ctx, "nope"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("missing issuer: %v", err)
		}
		// Rotation retires the old key of the same purpose only.
		nk := issuing.Key{ID: "di2", Issuer: "ac-lyon", Purpose: issuing.PurposeDI, Alg: "Ed25519", PublicMultibase: "z6Mknew", Sealed: []byte{9}, CreatedAt: t0.Add(time.Hour)}
		if err := db.RotateKeys(ctx, "ac-lyon", []issuing.Key{nk}, t0.Add(time.Hour), issuing.AuditEntry{Actor: "a", Action: "keys.rotate", Issuer: "ac-lyon"}); err != nil {
			t.Fatal(err)
		}
		ks, err := db.Keys(ctx, "ac-lyon")
		if err != nil || len(ks) != 3 {
			t.Fatalf("keys = %d, %v", len(ks), err)
		}
		active := map[string]string{}
		for _, k := range ks {
			if k.RetiredAt == nil {
				active[k.Purpose] = k.ID
			}
		}
		if active[issuing.PurposeDI] != "di2" || active[issuing.PurposeJWT] != "ac-lyon-jwt1" {
			t.Fatalf("active keys after rotation: %v", active)
		}
		if string(ks[2].Sealed) != "\x09" {
			t.Fatal("sealed bytes not kept")
		}
		log, err := db.AuditLog(ctx, "ac-lyon", 10)
		if err != nil || len(log) != 2 || log[0].Action != "keys.rotate" {
			t.Fatalf("audit = %+v, %v", log, err)
		}
	})
}

func TestAchievementVersions(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		id := "11111111-1111-4111-8111-111111111111"
		mkAchievement(t, db, "ac-lyon", id)
		// Not awarded yet: edited in place.
		v, err := db.UpdateAchievement(ctx, issuing.Achievement{ID: id, Issuer: "ac-lyon", Data: json.RawMessage(`{"name":"v1b"}`), CreatedAt: t0}, issuing.AuditEntry{})
		if err != nil || v != 1 {
			t.Fatalf("update unawarded: v%d %v", v, err)
		}
		if err := db.InsertCredentials(ctx, []issuing.Credential{cred("c1", "ac-lyon", id, 5)}, nil, nil); err != nil {
			t.Fatal(err)
		}
		v, err = db.UpdateAchievement(ctx, issuing.Achievement{ID: id, Issuer: "ac-lyon", Data: json.RawMessage(`{"name":"v2"}`), CreatedAt: t0}, issuing.AuditEntry{})
		if err != nil || v != 2 {
			t.Fatalf("update awarded: v%d %v", v, err)
		}
		latest, _ := db.Achievement(ctx, id)
		old, _ := db.AchievementVersion(ctx, id, 1)
		if latest.Version != 2 || string(latest.Data) != `{"name":"v2"}` || string(old.Data) != `{"name":"v1b"}` {
			t.Fatalf("latest %+v old %+v", latest, old)
		}
		list, err := db.Achievements(ctx, "ac-lyon")
		if err != nil || len(list) != 1 || list[0].Version != 2 {
			t.Fatalf("Achievements = %+v, %v", list, err)
		}
		if _, err := db.UpdateAchievement(ctx, issuing.Achievement{ID: "22222222-1111-4111-8111-111111111111", Data: json.RawMessage(`{}`)}, issuing.AuditEntry{}); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
	})
}

func TestCredentials(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		ach := "11111111-1111-4111-8111-111111111111"
		mkAchievement(t, db, "ac-lyon", ach)
		var cs []issuing.Credential
		for i := range 450 { // more than one INSERT batch
			cs = append(cs, cred(fmt.Sprintf("c%03d", i), "ac-lyon", ach, i*3))
		}
		if err := db.InsertCredentials(ctx, cs, nil, []issuing.AuditEntry{{Actor: "t", Action: "credential.award", Issuer: "ac-lyon"}}); err != nil {
			t.Fatal(err)
		}
		// A status index taken twice: nothing of the batch is written.
		dup := []issuing.Credential{cred("x1", "ac-lyon", ach, 1), cred("x2", "ac-lyon", ach, 3)}
		if err := db.InsertCredentials(ctx, dup, nil, nil); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("duplicate index: %v", err)
		}
		if _, err := db.Credential(ctx, "x1"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("half a batch was written: %v", err)
		}
		page, total, err := db.Credentials(ctx, issuing.CredentialQuery{AchievementID: ach, Limit: 10, Offset: 20})
		if err != nil || total != 450 || len(page) != 10 || page[0].ID != "c429" {
			t.Fatalf("page: total %d len %d first %v err %v", total, len(page), page, err)
		}
		list, used, err := db.StatusUsage(ctx, "ac-lyon")
		if err != nil || list != 1 || used != 450 {
			t.Fatalf("usage %d %d %v", list, used, err)
		}
		idx, _ := db.UsedStatusIndexes(ctx, "ac-lyon", 1)
		if len(idx) != 450 {
			t.Fatalf("used indexes %d", len(idx))
		}
		c, err := db.Credential(ctx, "c007")
		if err != nil || c.StatusIndex != 21 || c.RecipientEmail != "c007@example.org" || string(c.Signed) != `{"id":"urn:uuid:c007"}` {
			t.Fatalf("credential %+v %v", c, err)
		}
	})
}

func TestStatusLists(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		ach := "11111111-1111-4111-8111-111111111111"
		mkAchievement(t, db, "ac-lyon", ach)
		db.InsertCredentials(ctx, []issuing.Credential{cred("a", "ac-lyon", ach, 7), cred("b", "ac-lyon", ach, 9)}, nil, nil)
		l, err := db.StatusList(ctx, "ac-lyon", 1)
		if err != nil || l.Version != 0 || l.Signed != nil {
			t.Fatalf("fresh list %+v %v", l, err)
		}
		if err := db.SaveSignedStatusList(ctx, "ac-lyon", 1, 0, []byte(`{"v":0}`)); err != nil {
			t.Fatal(err)
		}
		if l, _ = db.StatusList(ctx, "ac-lyon", 1); string(l.Signed) != `{"v":0}` || l.SignedVersion != 0 {
			t.Fatalf("cached v0: %+v", l)
		}
		if err := db.SetCredentialState(ctx, "b", issuing.StateRevoked, "fraude", issuing.AuditEntry{Actor: "t", Action: "credential.revoke", Issuer: "ac-lyon"}); err != nil {
			t.Fatal(err)
		}
		l, _ = db.StatusList(ctx, "ac-lyon", 1)
		if l.Version != 1 || l.SignedVersion == l.Version {
			t.Fatalf("after revoke the cache must be stale: %+v", l)
		}
		flagged, _ := db.FlaggedIndexes(ctx, "ac-lyon", 1)
		if len(flagged) != 1 || flagged[0] != 9 {
			t.Fatalf("flagged %v", flagged)
		}
		db.SaveSignedStatusList(ctx, "ac-lyon", 1, 1, []byte(`{"v":1}`))
		// A slow node saving an older version does not win.
		db.SaveSignedStatusList(ctx, "ac-lyon", 1, 0, []byte(`{"v":0}`))
		if l, _ = db.StatusList(ctx, "ac-lyon", 1); string(l.Signed) != `{"v":1}` || l.SignedVersion != 1 {
			t.Fatalf("cache %+v", l)
		}
		c, _ := db.Credential(ctx, "b")
		if c.State != issuing.StateRevoked || c.Reason != "fraude" {
			t.Fatalf("state %+v", c)
		}
		if err := db.SetCredentialState(ctx, "zz", issuing.StateRevoked, "", issuing.AuditEntry{}); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("missing credential: %v", err)
		}
	})
}

func TestJobs(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		ach := "11111111-1111-4111-8111-111111111111"
		mkAchievement(t, db, "ac-lyon", ach)
		j := issuing.Job{ID: "j1", Issuer: "ac-lyon", State: issuing.JobQueued, Total: 3, Payload: json.RawMessage(`{}`), CreatedBy: "t", CreatedAt: t0}
		if err := db.CreateJob(ctx, j, issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		// Two workers race for one job: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Go(func() {
				if got, err := db.ClaimJob(ctx, t0, t0.Add(time.Minute)); err == nil && got.ID == "j1" {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d workers claimed the job", wins)
		}
		// While leased, nobody else gets it; once the lease ran out, it is
		// taken over.
		if _, err := db.ClaimJob(ctx, t0.Add(30*time.Second), t0.Add(2*time.Minute)); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("leased job claimed again: %v", err)
		}
		if got, err := db.ClaimJob(ctx, t0.Add(2*time.Minute), t0.Add(3*time.Minute)); err != nil || got.ID != "j1" {
			t.Fatalf("expired lease not taken over: %v", err)
		}
		c := cred("c1", "ac-lyon", ach, 1)
		c.JobID, c.JobRow = "j1", 1
		p := &issuing.Progress{JobID: "j1", Done: 1, Failed: 1, Errors: []issuing.RowError{{Row: 2, Message: "bad email"}}}
		if err := db.InsertCredentials(ctx, []issuing.Credential{c}, p, nil); err != nil {
			t.Fatal(err)
		}
		// The same row again (a worker that crashed after committing): refused.
		c2 := cred("c2", "ac-lyon", ach, 2)
		c2.JobID, c2.JobRow = "j1", 1
		if err := db.InsertCredentials(ctx, []issuing.Credential{c2}, &issuing.Progress{JobID: "j1", Done: 1}, nil); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("job row twice: %v", err)
		}
		c3 := cred("c3", "ac-lyon", ach, 3)
		c3.JobID, c3.JobRow = "j1", 3
		if err := db.InsertCredentials(ctx, []issuing.Credential{c3}, &issuing.Progress{JobID: "j1", Done: 1, Finish: true}, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.Job(ctx, "j1")
		if err != nil || got.State != issuing.JobDone || got.Done != 2 || got.Failed != 1 || len(got.Errors) != 1 || got.Errors[0].Row != 2 {
			t.Fatalf("job %+v %v", got, err)
		}
		if _, err := db.ClaimJob(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour)); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("done job claimed: %v", err)
		}
	})
}

func TestBlobs(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := issuing.Blob{SHA256: strings.Repeat("ab", 32), MediaType: "application/pdf", Size: 42, Name: "rapport.pdf", CreatedAt: t0}
		if err := db.PutBlob(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := db.PutBlob(ctx, b); err != nil {
			t.Fatalf("same blob twice: %v", err)
		}
		got, err := db.Blob(ctx, b.SHA256)
		if err != nil || *got != b {
			t.Fatalf("blob %+v %v", got, err)
		}
	})
}

func TestDiskBlobs(t *testing.T) {
	d := store.DiskBlobs{Dir: t.TempDir()}
	ctx := context.Background()
	sha, n, err := d.Put(ctx, strings.NewReader("hello"), 10)
	if err != nil || n != 5 || sha != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("put: %s %d %v", sha, n, err)
	}
	if _, _, err := d.Put(ctx, strings.NewReader("far too long"), 10); !errors.Is(err, issuing.ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	r, err := d.Open(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := d.Open(ctx, strings.Repeat("0", 64)); !errors.Is(err, issuing.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
