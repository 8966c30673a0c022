package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
)

func mkMapping(t testing.TB, db *store.DB, id, issuer, ach string) {
	t.Helper()
	m := completion.Mapping{ID: id, Issuer: issuer, AchievementID: ach, Kind: completion.KindXAPI, Value: "https://m.example/course/" + id, CreatedAt: t0}
	if err := db.CreateMapping(context.Background(), m, issuing.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
}

func insertAwards(t testing.TB, db *store.DB, as ...completion.Award) []bool {
	t.Helper()
	ctx := context.Background()
	var fresh []bool
	if err := db.Record(ctx, nil, func(tx completion.Tx) error {
		var err error
		fresh, err = tx.InsertAwards(ctx, as)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return fresh
}

func awardState(t testing.TB, db *store.DB, id string) *completion.Decision {
	t.Helper()
	d, err := db.Award(context.Background(), id)
	if err != nil {
		t.Fatalf("award %s: %v", id, err)
	}
	return d
}

// Deleting a mapping cancels, in its transaction, the awards it decided
// that are not issued (pending, leased or not, and failed), with a reason
// and an audit entry; issued ones and other mappings' stay. A new decision
// replaces a cancelled one; the worker failing or releasing an award that
// was cancelled meanwhile leaves it cancelled, issuing it notes it issued.
func TestDeletingAMappingCancelsItsAwards(t *testing.T) {
	eachRaw(t, func(t *testing.T, db *store.DB, raw *sql.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkMapping(t, db, "m1", "ac-lyon", "ach1")
		mkMapping(t, db, "m2", "ac-lyon", "ach2")
		other := award("c@example.org", "ach2", "c-other")
		other.Reason = "mapping:m2"
		insertAwards(t, db, award("a@example.org", "ach1", "c-issued"), award("b@example.org", "ach1", "c-failed"),
			award("c@example.org", "ach1", "c-pending"), award("d@example.org", "ach1", "c-leased"), award("e@example.org", "ach1", "c-released"), other)
		if err := db.FinishAwards(ctx, []string{"c-issued"}, completion.AwardIssued, "", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishAwards(ctx, []string{"c-failed"}, completion.AwardFailed, "achievement gone", t0); err != nil {
			t.Fatal(err)
		}
		// A worker holds two when the mapping goes.
		if c, err := db.ClaimAwards(ctx, []string{"c-leased", "c-released"}, 0, t0, t0.Add(time.Minute)); err != nil || len(c) != 2 {
			t.Fatalf("claim: %v %v", c, err)
		}
		if err := db.DeleteMapping(ctx, "m1", issuing.AuditEntry{Actor: "user:x", Action: "mapping.delete", Issuer: "ac-lyon", Target: "m1"}); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"c-issued": completion.AwardIssued, "c-failed": completion.AwardCancelled, "c-pending": completion.AwardCancelled,
			"c-leased": completion.AwardCancelled, "c-released": completion.AwardCancelled, "c-other": completion.AwardPending}
		for id, state := range want {
			d := awardState(t, db, id)
			if d.State != state {
				t.Errorf("%s: %s, want %s", id, d.State, state)
			}
			if state == completion.AwardCancelled && d.Error != completion.RuleGone("mapping", "m1") {
				t.Errorf("%s cancelled with %q", id, d.Error)
			}
		}
		var detail string
		if err := raw.QueryRowContext(ctx, "SELECT detail FROM audit WHERE action = 'mapping.delete'").Scan(&detail); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(detail, "4 awards not issued yet cancelled") {
			t.Fatalf("audit detail %q", detail)
		}
		// Cancelled awards are not claimed.
		if c, _ := db.ClaimAwards(ctx, nil, 100, t0.Add(time.Hour), t0.Add(2*time.Hour)); len(c) != 1 || c[0].CredentialID != "c-other" {
			t.Fatalf("claimed after the deletion: %+v", c)
		}
		// The worker that held two comes back: one was issued before
		// the deletion committed, the other failed.
		if err := db.FinishAwards(ctx, []string{"c-leased"}, completion.AwardIssued, "", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishAwards(ctx, []string{"c-released"}, completion.AwardFailed, "boom", t0); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseAwards(ctx, []string{"c-pending"}, "database away"); err != nil {
			t.Fatal(err)
		}
		if d := awardState(t, db, "c-leased"); d.State != completion.AwardIssued {
			t.Fatalf("issued while cancelled: %s", d.State)
		}
		for _, id := range []string{"c-released", "c-pending"} {
			if d := awardState(t, db, id); d.State != completion.AwardCancelled || d.Attempts != 0 || d.Error != completion.RuleGone("mapping", "m1") {
				t.Fatalf("%s after the worker: %+v", id, d)
			}
		}
		// A later decision (another mapping, a new completion) replaces a
		// cancelled award, not an issued or pending one.
		again := []completion.Award{award("c@example.org", "ach1", "c-new"), award("a@example.org", "ach1", "c-new2"), award("c@example.org", "ach2", "c-new3")}
		for i := range again {
			again[i].Reason = "mapping:m2"
			again[i].CreatedAt = t0.Add(time.Hour)
		}
		if fresh := insertAwards(t, db, again...); fmt.Sprint(fresh) != "[true false false]" {
			t.Fatalf("decisions after cancellation: %v", fresh)
		}
		d := awardState(t, db, "c-new")
		if d.State != completion.AwardPending || d.Reason != "mapping:m2" || d.Error != "" || !d.CreatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("replacing decision %+v", d)
		}
		if _, err := db.Award(ctx, "c-pending"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("the replaced award is still there: %v", err)
		}
		// Two decisions for one pair in one call: the first is taken.
		if fresh := insertAwards(t, db, award("z@example.org", "ach1", "z1"), award("z@example.org", "ach1", "z2")); fmt.Sprint(fresh) != "[true false]" {
			t.Fatalf("one pair twice: %v", fresh)
		}
	})
}

// Deleting a parcours cancels its awards as a mapping's.
func TestDeletingAParcoursCancelsItsAwards(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		if err := db.CreateParcours(ctx, completion.Parcours{ID: "p1", Issuer: "ac-lyon", AchievementID: "pa", Members: []string{"m"}, CreatedAt: t0}, issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		a := award("a@example.org", "pa", "c-p")
		a.Reason = "parcours:p1"
		insertAwards(t, db, a, award("a@example.org", "m", "c-m"))
		if err := db.DeleteParcours(ctx, "p1", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if d := awardState(t, db, "c-p"); d.State != completion.AwardCancelled || d.Error != completion.RuleGone("parcours", "p1") {
			t.Fatalf("parcours award %+v", d)
		}
		if d := awardState(t, db, "c-m"); d.State != completion.AwardPending {
			t.Fatalf("the module's award: %s", d.State)
		}
	})
}

// A recording transaction that found a mapping alive keeps it so: a
// deletion waits for it to commit, and then cancels what it decided. A
// mapping already deleted is not alive.
func TestLiveRulesHoldOffDeletion(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkMapping(t, db, "m1", "ac-lyon", "ach1")
		mkMapping(t, db, "m2", "ac-lyon", "ach2")
		if err := db.DeleteMapping(ctx, "m2", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		deleted := make(chan error, 1)
		err := db.Record(ctx, []completion.Learner{{Email: "a@example.org"}}, func(tx completion.Tx) error {
			live, err := tx.LiveRules(ctx, []string{"m1", "m2", "m3"}, []string{"p9"})
			if err != nil {
				return err
			}
			if fmt.Sprint(live) != "map[mapping:m1:true]" {
				return fmt.Errorf("live rules %v", live)
			}
			go func() { deleted <- db.DeleteMapping(ctx, "m1", issuing.AuditEntry{}) }()
			select {
			case err := <-deleted:
				return fmt.Errorf("the mapping was deleted while a recording held it: %v", err)
			case <-time.After(300 * time.Millisecond):
			}
			_, err = tx.InsertAwards(ctx, []completion.Award{award("a@example.org", "ach1", "c1")})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-deleted; err != nil {
			t.Fatal(err)
		}
		if d := awardState(t, db, "c1"); d.State != completion.AwardCancelled {
			t.Fatalf("award decided by the mapping being deleted: %s", d.State)
		}
	})
}

// An issuer's decisions are listed by state, a page at a time, with the
// activity of their completion; a failed one is retried once, and
// cancelled if asked.
func TestIssuerAwardsAndRetry(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkIssuer(t, db, "ac-nice")
		var as []completion.Award
		var failed []string
		for i := range 7 {
			a := award(fmt.Sprintf("l%d@example.org", i), "ach1", fmt.Sprintf("c%d", i))
			a.CreatedAt = t0.Add(time.Duration(i) * time.Second)
			a.CompletionKey = "k1"
			as = append(as, a)
			if i%2 == 0 {
				failed = append(failed, a.CredentialID)
			}
		}
		nice := award("l0@example.org", "ach9", "n1")
		nice.Issuer = "ac-nice"
		as = append(as, nice)
		if err := db.Record(ctx, []completion.Learner{{Email: "l0@example.org"}}, func(tx completion.Tx) error {
			if _, err := tx.InsertCompletions(ctx, []completion.Stored{stored("k1", "l0@example.org")}); err != nil {
				return err
			}
			_, err := tx.InsertAwards(ctx, as)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishAwards(ctx, append(failed, "n1"), completion.AwardFailed, "no such achievement", t0); err != nil {
			t.Fatal(err)
		}
		page, total, err := db.IssuerAwards(ctx, "ac-lyon", completion.AwardFailed, 3, 0)
		if err != nil || total != 4 || len(page) != 3 || page[0].CredentialID != "c0" || page[2].CredentialID != "c4" {
			t.Fatalf("first page: %+v %d %v", page, total, err)
		}
		if page[0].Activity != `xapi="https://m.example/course/1"` || page[0].Error != "no such achievement" || page[0].Learner != "l0@example.org" {
			t.Fatalf("failed award %+v", page[0])
		}
		page, _, _ = db.IssuerAwards(ctx, "ac-lyon", completion.AwardFailed, 3, 3)
		if len(page) != 1 || page[0].CredentialID != "c6" {
			t.Fatalf("second page: %+v", page)
		}
		if _, total, _ := db.IssuerAwards(ctx, "ac-lyon", "", 100, 0); total != 7 {
			t.Fatalf("%d decisions in all", total)
		}
		if _, _, err := db.IssuerAwards(ctx, "ac-lyon", "x' OR '1'='1", 100, 0); err == nil {
			t.Fatal("an unknown state was accepted")
		}

		if err := db.RetryAward(ctx, "c0", issuing.AuditEntry{Action: "completion-award.retry"}); err != nil {
			t.Fatal(err)
		}
		d := awardState(t, db, "c0")
		if d.State != completion.AwardPending || d.Error != "" || d.Attempts != 0 {
			t.Fatalf("retried award %+v", d)
		}
		if err := db.RetryAward(ctx, "c0", issuing.AuditEntry{}); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("retrying a pending award: %v", err)
		}
		if c, _ := db.ClaimAwards(ctx, []string{"c0"}, 0, t0, t0.Add(time.Minute)); len(c) != 1 {
			t.Fatal("a retried award is not claimed")
		}
		if err := db.CancelAward(ctx, "c2", "gone", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if d := awardState(t, db, "c2"); d.State != completion.AwardCancelled || d.Error != "gone" {
			t.Fatalf("cancelled award %+v", d)
		}
		if _, err := db.Award(ctx, "nope"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("unknown award: %v", err)
		}
	})
}
