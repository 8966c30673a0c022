package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
)

func mkUser(t *testing.T, db *store.DB, id, email string) {
	t.Helper()
	if _, err := db.CreateUser(context.Background(), auth.User{ID: id, Email: email, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
}

func imported(id, user, credID string, at time.Time) backpack.Imported {
	return backpack.Imported{ID: id, UserID: user, CredentialID: credID, IssuerID: "https://elsewhere.example/issuer", IssuerName: "Ailleurs",
		Name: "Badge " + id, Format: backpack.FormatJSON, Original: []byte(`{"id":"` + credID + `"}`), Payload: []byte(`{"id":"` + credID + `"}`),
		Verdict: "valid", Report: json.RawMessage(`{"verdict":"valid"}`), CreatedAt: at, UpdatedAt: at, VerifiedAt: at}
}

func TestBackpackHoldings(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		mkUser(t, db, "u1", "anne@example.org")
		mkUser(t, db, "u2", "bruno@example.org")
		var cs []issuing.Credential
		for i := range 5 {
			c := cred(fmt.Sprintf("c%d", i), "ac-lyon", "a1", i)
			c.RecipientEmail = []string{"anne@example.org", "anne.perso@example.org", "bruno@example.org", "anne@example.org", "other@example.org"}[i]
			cs = append(cs, c)
		}
		if err := db.InsertCredentials(ctx, cs, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.PutImported(ctx, imported("i1", "u1", "https://elsewhere.example/a/1", t0.Add(10*time.Second))); err != nil {
			t.Fatal(err)
		}
		ob2 := imported("i2", "u1", "https://elsewhere.example/a/2", t0.Add(11*time.Second))
		ob2.Format = backpack.FormatOB2
		if err := db.PutImported(ctx, ob2); err != nil {
			t.Fatal(err)
		}
		if n, err := db.ImportedCount(ctx, "u1"); err != nil || n != 2 {
			t.Fatalf("u1 imported count %d, want 2 (%v)", n, err)
		}
		if n, err := db.ImportedCount(ctx, "u2"); err != nil || n != 0 {
			t.Fatalf("u2 imported count %d, want 0 (%v)", n, err)
		}
		// anne.perso@ is Anne's once verified; a pending address does not count.
		if err := db.AddLearnerEmail(ctx, backpack.Email{UserID: "u1", Email: "anne.perso@example.org", TokenHash: "h", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := db.Holdings(ctx, "u1", backpack.Query{Limit: 10}); total != 4 {
			t.Fatalf("with a pending address: %d holdings, want 4", total)
		}
		if _, err := db.VerifyLearnerEmail(ctx, "h", t0); err != nil {
			t.Fatal(err)
		}
		ids0, err := db.LearnerIdentities(ctx, "u1")
		if err != nil || len(ids0) != 2 {
			t.Fatalf("identities = %v, %v", ids0, err)
		}
		items, total, err := db.Holdings(ctx, "u1", backpack.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if total != 5 || fmt.Sprint(ids) != "[i2 i1 c3 c1 c0]" {
			t.Fatalf("holdings = %v (total %d), want [i2 i1 c3 c1 c0] (5)", ids, total)
		}
		if items[2].Name != "v1" || items[2].Kind != backpack.KindIssued || items[2].IssuerSlug != "ac-lyon" || items[2].CredentialID != "urn:uuid:c3" {
			t.Fatalf("issued item = %+v", items[2])
		}
		// Paging, since and OB 3.0 only.
		page, total, _ := db.Holdings(ctx, "u1", backpack.Query{Limit: 2, Offset: 2})
		if total != 5 || len(page) != 2 || page[0].ID != "c3" || page[1].ID != "c1" {
			t.Fatalf("page 2 = %+v", page)
		}
		page, total, _ = db.Holdings(ctx, "u1", backpack.Query{Limit: 10, Since: t0.Add(3 * time.Second), OB3Only: true, WithPayload: true})
		if total != 2 || len(page) != 2 || page[0].ID != "i1" || string(page[1].Payload) != `{"id":"urn:uuid:c3"}` {
			t.Fatalf("since+ob3 = %+v (%d)", page, total)
		}
		// Past the end: no page, the total still.
		if page, total, _ := db.Holdings(ctx, "u1", backpack.Query{Limit: 10, Offset: 10}); total != 5 || len(page) != 0 {
			t.Fatalf("past the end: %d items, total %d", len(page), total)
		}
		// Another learner sees neither u1's imports nor credentials to u1's addresses.
		if _, err := db.Holding(ctx, "u2", "i1"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 reads u1's import: %v", err)
		}
		if _, err := db.Holding(ctx, "u2", "c0"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 reads u1's credential: %v", err)
		}
		if err := db.DeleteImported(ctx, "u2", "i1"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 deletes u1's import: %v", err)
		}
		it, err := db.Holding(ctx, "u1", "i1")
		if err != nil || string(it.Original) != `{"id":"https://elsewhere.example/a/1"}` || string(it.Report) != `{"verdict":"valid"}` {
			t.Fatalf("holding i1 = %+v, %v", it, err)
		}
		// Replace keeps the id and creation time.
		r := imported("i1", "u1", "https://elsewhere.example/a/1", t0.Add(time.Hour))
		r.Name = "Badge remplacé"
		if err := db.ReplaceImported(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := db.ImportedByCredentialID(ctx, "u1", "https://elsewhere.example/a/1")
		if err != nil || got.Name != "Badge remplacé" || !got.CreatedAt.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("replaced = %+v, %v", got, err)
		}
		// Re-verification queue.
		due, err := db.DueForVerification(ctx, t0.Add(30*time.Second), 10)
		if err != nil || len(due) != 1 || due[0].ID != "i2" {
			t.Fatalf("due = %+v, %v", due, err)
		}
		if err := db.SetVerification(ctx, "i2", "invalid", "revoked", []byte(`{}`), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		it, _ = db.Holding(ctx, "u1", "i2")
		if it.Verdict != "invalid" || it.Status != "revoked" {
			t.Fatalf("after re-verification: %+v", it)
		}
	})
}

func TestBackpackEmails(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkUser(t, db, "u1", "anne@example.org")
		mkUser(t, db, "u2", "bruno@example.org")
		add := func(user, email, tok string) error {
			return db.AddLearnerEmail(ctx, backpack.Email{UserID: user, Email: email, TokenHash: tok, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0})
		}
		if err := add("u1", "perso@example.org", "h1"); err != nil {
			t.Fatal(err)
		}
		if err := add("u2", "perso@example.org", "h2"); err != nil {
			t.Fatal(err) // pending claims may compete
		}
		if _, err := db.VerifyLearnerEmail(ctx, "h1", t0.Add(2*time.Hour)); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("expired link: %v", err)
		}
		if err := add("u1", "perso@example.org", "h1b"); err != nil {
			t.Fatal(err) // a new link for a pending address
		}
		e, err := db.VerifyLearnerEmail(ctx, "h1b", t0.Add(time.Minute))
		if err != nil || e.UserID != "u1" || e.Email != "perso@example.org" {
			t.Fatalf("verify = %+v, %v", e, err)
		}
		if _, err := db.VerifyLearnerEmail(ctx, "h1b", t0.Add(time.Minute)); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("link used twice: %v", err)
		}
		if _, err := db.VerifyLearnerEmail(ctx, "h2", t0.Add(time.Minute)); !errors.Is(err, backpack.ErrConflict) {
			t.Fatalf("second learner verifies the same address: %v", err)
		}
		if err := add("u2", "anne@example.org", "h3"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.VerifyLearnerEmail(ctx, "h3", t0.Add(time.Minute)); !errors.Is(err, backpack.ErrConflict) {
			t.Fatalf("claiming another account's address: %v", err)
		}
		es, _ := db.LearnerEmails(ctx, "u1")
		if len(es) != 1 || es[0].VerifiedAt.IsZero() {
			t.Fatalf("u1 addresses = %+v", es)
		}
		if err := db.RemoveLearnerEmail(ctx, "u2", "perso@example.org"); err != nil {
			t.Fatal(err) // u2's own pending claim
		}
		if err := db.RemoveLearnerEmail(ctx, "u2", "perso@example.org"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("removing twice: %v", err)
		}
	})
}

func TestBackpackCollectionsSharesProfile(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkUser(t, db, "u1", "anne@example.org")
		mkUser(t, db, "u2", "bruno@example.org")
		c := backpack.Collection{ID: "col1", UserID: "u1", Name: "Numérique", Items: []string{"a", "b"}, CreatedAt: t0, UpdatedAt: t0}
		if err := db.PutCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Items = []string{"b"}
		c.Name = "Numérique éducatif"
		if err := db.PutCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.Collection(ctx, "u1", "col1")
		if err != nil || got.Name != "Numérique éducatif" || fmt.Sprint(got.Items) != "[b]" {
			t.Fatalf("collection = %+v, %v", got, err)
		}
		if _, err := db.Collection(ctx, "u2", "col1"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 reads u1's collection: %v", err)
		}
		// A second learner cannot overwrite it by id.
		if err := db.PutCollection(ctx, backpack.Collection{ID: "col1", UserID: "u2", Name: "x", CreatedAt: t0, UpdatedAt: t0}); !errors.Is(err, backpack.ErrConflict) {
			t.Fatalf("u2 overwrites u1's collection: %v", err)
		}
		sh := backpack.Share{ID: "tok1", UserID: "u1", TargetKind: backpack.ShareCollection, TargetID: "col1", ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
		if err := db.PutShare(ctx, sh); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := db.ViewShare(ctx, "tok1", t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ViewShare(ctx, "tok1", t0.Add(2*time.Hour)); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("expired share: %v", err)
		}
		if err := db.RevokeShare(ctx, "u2", "tok1", t0); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 revokes u1's share: %v", err)
		}
		shares, _ := db.Shares(ctx, "u1")
		if len(shares) != 1 || shares[0].Views != 2 {
			t.Fatalf("shares = %+v", shares)
		}
		if err := db.RevokeShare(ctx, "u1", "tok1", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ViewShare(ctx, "tok1", t0.Add(time.Minute)); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("revoked share: %v", err)
		}
		if err := db.DeleteCollection(ctx, "u2", "col1"); !errors.Is(err, backpack.ErrNotFound) {
			t.Fatalf("u2 deletes u1's collection: %v", err)
		}
		if p, err := db.Profile(ctx, "u1"); p != nil || err != nil {
			t.Fatalf("no profile yet: %s, %v", p, err)
		}
		for _, v := range []string{`{"type":"Profile","name":"A"}`, `{"type":"Profile","name":"B"}`} {
			if err := db.PutProfile(ctx, "u1", json.RawMessage(v), t0); err != nil {
				t.Fatal(err)
			}
		}
		if p, _ := db.Profile(ctx, "u1"); string(p) != `{"type":"Profile","name":"B"}` {
			t.Fatalf("profile = %s", p)
		}
	})
}

func TestBackpackNotificationsAndErasure(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		mkUser(t, db, "u1", "anne@example.org")
		c := cred("c1", "ac-lyon", "a1", 1)
		c.RecipientEmail, c.RecipientName = "anne@example.org", "Anne"
		if err := db.InsertCredentials(ctx, []issuing.Credential{c, cred("c2", "ac-lyon", "a1", 2)}, nil, nil); err != nil {
			t.Fatal(err)
		}
		landed, err := db.LandedSince(ctx, t0, 10)
		if err != nil || len(landed) != 2 || landed[0].CredentialID != "c1" || landed[0].IssuerName != "Académie ac-lyon" || string(landed[0].AchievementDoc) != `{"name":"v1"}` {
			t.Fatalf("landed = %+v, %v", landed, err)
		}
		if ok, err := db.ClaimNotification(ctx, "c1", t0); !ok || err != nil {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, err := db.ClaimNotification(ctx, "c1", t0); ok || err != nil {
			t.Fatalf("second claim: %v %v", ok, err)
		}
		if landed, _ := db.LandedSince(ctx, t0, 10); len(landed) != 1 || landed[0].CredentialID != "c2" {
			t.Fatalf("landed after claim = %+v", landed)
		}
		if err := db.PutImported(ctx, imported("i1", "u1", "x", t0)); err != nil {
			t.Fatal(err)
		}
		if err := db.EraseLearner(ctx, "u1", []string{"anne@example.org"}); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := db.Holdings(ctx, "u1", backpack.Query{Limit: 10}); total != 0 {
			t.Fatalf("after erasure %d holdings remain", total)
		}
		got, err := db.Credential(ctx, "c1")
		if err != nil || got.RecipientEmail != "" || got.RecipientName != "" || got.State != issuing.StateActive || len(got.Signed) == 0 {
			t.Fatalf("issued credential after erasure = %+v, %v", got, err)
		}
		if e, _ := db.AccountEmail(ctx, "u1"); e != "" {
			t.Fatalf("account e-mail after erasure = %q", e)
		}
	})
}
