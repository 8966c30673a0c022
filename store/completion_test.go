package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// eachRaw is each, with a second plain connection to the same database
// for reading what the interfaces do not expose.
func eachRaw(t *testing.T, fn func(t *testing.T, db *store.DB, raw *sql.DB)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			db, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			driver := "sqlite"
			if strings.HasPrefix(dsn, "postgres") {
				driver = "pgx"
			}
			raw, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			fn(t, db, raw)
		})
	}
}

func stored(key, email string) completion.Stored {
	return completion.Stored{Key: key, ReceivedAt: t0, Completion: completion.Completion{Source: "xapi", SourceRef: "st-" + key, Learner: completion.Learner{Email: email},
		Activity: completion.Activity{ID: "https://m.example/course/1"}, Completed: true, At: t0}}
}

func award(email, ach, cred string) completion.Award {
	return completion.Award{Learner: email, AchievementID: ach, Issuer: "ac-lyon", CredentialID: cred, State: completion.AwardPending,
		Reason: "mapping:m1", CreatedAt: t0}
}

func TestCompletionsAndAwardsAreStoredOnce(t *testing.T) {
	eachRaw(t, func(t *testing.T, db *store.DB, raw *sql.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		var first, again, awardsAgain []bool
		record := func(ls []completion.Learner, cs []completion.Stored, as []completion.Award) ([]bool, []bool) {
			var a, b []bool
			err := db.Record(ctx, ls, func(tx completion.Tx) error {
				var err error
				if a, err = tx.InsertCompletions(ctx, cs); err != nil {
					return err
				}
				b, err = tx.InsertAwards(ctx, as)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return a, b
		}
		ls := []completion.Learner{{Email: "b@example.org", Name: "Bea", Academie: "Lyon", Discipline: "SVT"}, {Email: "a@example.org"}}
		cs := []completion.Stored{stored("k1", "a@example.org"), stored("k2", "b@example.org")}
		first, _ = record(ls, cs, []completion.Award{award("a@example.org", "ach1", "c1")})
		// Again with one new completion, one replay of k1 under another
		// key but the same statement id, and a second decision for the
		// same (learner, achievement).
		replay := stored("k9", "a@example.org")
		replay.SourceRef = "st-k1"
		again, awardsAgain = record([]completion.Learner{{Email: "b@example.org", Departement: "69"}},
			[]completion.Stored{cs[1], stored("k3", "b@example.org"), replay},
			[]completion.Award{award("a@example.org", "ach1", "c2"), award("b@example.org", "ach1", "c3")})
		if fmt.Sprint(first, again, awardsAgain) != "[true true] [false true false] [false true]" {
			t.Fatalf("inserted %v, %v, awards %v", first, again, awardsAgain)
		}
		// Attributes are merged: an empty one keeps what was stored.
		var name, academie, departement, discipline string
		if err := raw.QueryRowContext(ctx, "SELECT name, academie, departement, discipline FROM learners WHERE email = 'b@example.org'").
			Scan(&name, &academie, &departement, &discipline); err != nil {
			t.Fatal(err)
		}
		if name != "Bea" || academie != "Lyon" || departement != "69" || discipline != "SVT" {
			t.Fatalf("learner b: %q %q %q %q", name, academie, departement, discipline)
		}
		as, err := db.Awards(ctx, "a@example.org")
		if err != nil || len(as) != 1 || as[0].CredentialID != "c1" {
			t.Fatalf("awards of a: %+v %v", as, err)
		}
		// A failing transaction leaves nothing behind.
		boom := errors.New("boom")
		err = db.Record(ctx, []completion.Learner{{Email: "z@example.org"}}, func(tx completion.Tx) error {
			tx.InsertCompletions(ctx, []completion.Stored{stored("k4", "z@example.org")})
			tx.InsertAwards(ctx, []completion.Award{award("z@example.org", "ach1", "c4")})
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if as, _ := db.Awards(ctx, "z@example.org"); len(as) != 0 {
			t.Fatalf("rolled back award stored: %+v", as)
		}
		var n int
		raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM learners").Scan(&n)
		if n != 2 {
			t.Fatalf("%d learners", n)
		}
	})
}

// Of two workers claiming at once, each award goes to one; a lease that
// runs out lets another take it; issued awards are never claimed again.
func TestAwardClaims(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var as []completion.Award
		for i := range 30 {
			as = append(as, award(fmt.Sprintf("l%d@example.org", i), "ach1", fmt.Sprintf("cred-%02d", i)))
		}
		if err := db.Record(ctx, nil, func(tx completion.Tx) error { _, err := tx.InsertAwards(ctx, as); return err }); err != nil {
			t.Fatal(err)
		}
		now := t0
		got := make([][]completion.Award, 4)
		var wg sync.WaitGroup
		for k := range got {
			wg.Go(func() {
				c, err := db.ClaimAwards(ctx, nil, 10, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				got[k] = c
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		total := 0
		for _, c := range got {
			if len(c) > 10 {
				t.Fatalf("a claim of at most 10 got %d", len(c))
			}
			for _, a := range c {
				if seen[a.CredentialID] {
					t.Fatalf("%s claimed twice", a.CredentialID)
				}
				seen[a.CredentialID] = true
				total++
			}
		}
		if total != 30 {
			t.Fatalf("%d claimed of 30", total)
		}
		if c, _ := db.ClaimAwards(ctx, nil, 100, now, now.Add(time.Minute)); len(c) != 0 {
			t.Fatalf("leased awards claimed again: %d", len(c))
		}
		if err := db.FinishAwards(ctx, []string{"cred-00", "cred-01"}, completion.AwardIssued, "", now); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishAwards(ctx, []string{"cred-02"}, completion.AwardFailed, "achievement gone", now); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseAwards(ctx, []string{"cred-03"}, "database away"); err != nil {
			t.Fatal(err)
		}
		later := now.Add(2 * time.Minute)
		c, err := db.ClaimAwards(ctx, []string{"cred-00", "cred-03", "cred-04"}, 0, later, later.Add(time.Minute))
		if err != nil || len(c) != 2 || c[0].CredentialID != "cred-03" || c[0].Attempts != 1 || c[0].Error != "database away" {
			t.Fatalf("claim by id after the lease: %+v %v", c, err)
		}
		c, _ = db.ClaimAwards(ctx, nil, 100, later, later.Add(time.Minute))
		if len(c) != 25 {
			t.Fatalf("%d claimed after the lease, want 25", len(c))
		}
		as2, _ := db.Awards(ctx, "l2@example.org")
		if as2[0].State != completion.AwardFailed || as2[0].Error != "achievement gone" {
			t.Fatalf("failed award %+v", as2[0])
		}
	})
}

// Holdings counts pending awards and active credentials, not revoked ones.
func TestHoldings(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		for _, a := range []string{"a1", "a2", "a3"} {
			mkAchievement(t, db, "ac-lyon", a)
		}
		c1, c2 := cred("11111111-1111-4111-8111-111111111111", "ac-lyon", "a2", 1), cred("22222222-2222-4222-8222-222222222222", "ac-lyon", "a3", 2)
		c1.RecipientEmail, c2.RecipientEmail = "l@example.org", "l@example.org"
		if err := db.InsertCredentials(ctx, []issuing.Credential{c1, c2}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetCredentialState(ctx, c2.ID, issuing.StateRevoked, "x", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		db.Record(ctx, nil, func(tx completion.Tx) error {
			_, err := tx.InsertAwards(ctx, []completion.Award{award("l@example.org", "a1", "p1"), award("m@example.org", "a1", "p2")})
			return err
		})
		hs, err := db.AchievementHoldings(ctx, []string{"l@example.org"}, []string{"a1", "a2", "a3"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, h := range hs {
			got[h.AchievementID] = h.Issued
		}
		if len(got) != 2 || got["a1"] || !got["a2"] {
			t.Fatalf("holdings %+v", hs)
		}
		// The issuers that awarded a learner, a revoked credential
		// included, a pending award not.
		mkIssuer(t, db, "ac-nice")
		mkAchievement(t, db, "ac-nice", "b1")
		c3 := cred("33333333-3333-4333-8333-333333333333", "ac-nice", "b1", 3)
		c3.RecipientEmail = "l@example.org"
		if err := db.InsertCredentials(ctx, []issuing.Credential{c3}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if is, err := db.CredentialIssuers(ctx, "l@example.org"); err != nil || !slices.Equal(is, []string{"ac-lyon", "ac-nice"}) {
			t.Fatalf("issuers of l@: %v %v", is, err)
		}
		if is, err := db.CredentialIssuers(ctx, "m@example.org"); err != nil || len(is) != 0 {
			t.Fatalf("issuers of m@ (only a pending award): %v %v", is, err)
		}
		ex, err := db.ExistingCredentials(ctx, []string{c1.ID, "nope", c2.ID})
		if err != nil || len(ex) != 2 {
			t.Fatalf("existing %v %v", ex, err)
		}
	})
}

func TestMappingsAndParcours(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkIssuer(t, db, "ac-nice")
		min := 0.75
		from := t0.Add(-time.Hour)
		m := completion.Mapping{ID: "m1", Issuer: "ac-lyon", AchievementID: "a1", Kind: completion.KindMoodleCourse, Value: "42",
			Conditions: completion.Conditions{Passed: true, MinScore: &min, From: &from}, CreatedBy: "t", CreatedAt: t0}
		if err := db.CreateMapping(ctx, m, issuing.AuditEntry{Action: "mapping.create", Issuer: "ac-lyon"}); err != nil {
			t.Fatal(err)
		}
		dup := m
		dup.ID = "m2"
		if err := db.CreateMapping(ctx, dup, issuing.AuditEntry{}); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("same mapping twice: %v", err)
		}
		other := completion.Mapping{ID: "m3", Issuer: "ac-nice", AchievementID: "a9", Kind: completion.KindXAPI, Value: "https://x.example/1", CreatedAt: t0.Add(time.Second)}
		if err := db.CreateMapping(ctx, other, issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Mapping(ctx, "m1")
		if err != nil || *got.Conditions.MinScore != 0.75 || !got.Conditions.Passed || got.Conditions.Completed || !got.Conditions.From.Equal(from) || got.Conditions.Until != nil {
			t.Fatalf("mapping %+v %v", got, err)
		}
		if ms, _ := db.Mappings(ctx, "ac-nice"); len(ms) != 1 || ms[0].ID != "m3" {
			t.Fatalf("nice's mappings %+v", ms)
		}
		if ms, _ := db.MappingsFor(ctx, []string{"42", "nothing"}); len(ms) != 1 || ms[0].ID != "m1" {
			t.Fatalf("mappings for 42: %+v", ms)
		}
		if err := db.DeleteMapping(ctx, "m1", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteMapping(ctx, "m1", issuing.AuditEntry{}); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if _, err := db.Mapping(ctx, "m1"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("deleted mapping: %v", err)
		}

		p := completion.Parcours{ID: "p1", Issuer: "ac-lyon", AchievementID: "pa", Required: 2, Members: []string{"m3", "m1", "m2"}, CreatedAt: t0}
		if err := db.CreateParcours(ctx, p, issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		p2 := p
		p2.ID = "p2"
		if err := db.CreateParcours(ctx, p2, issuing.AuditEntry{}); !errors.Is(err, issuing.ErrConflict) {
			t.Fatalf("two parcours for one achievement: %v", err)
		}
		q := completion.Parcours{ID: "p3", Issuer: "ac-nice", AchievementID: "pb", Members: []string{"x"}, CreatedAt: t0.Add(time.Second)}
		db.CreateParcours(ctx, q, issuing.AuditEntry{})
		gotP, err := db.Parcours(ctx, "p1")
		if err != nil || fmt.Sprint(gotP.Members) != "[m3 m1 m2]" || gotP.Required != 2 {
			t.Fatalf("parcours %+v %v", gotP, err)
		}
		all, _ := db.ParcoursList(ctx, "")
		lyon, _ := db.ParcoursList(ctx, "ac-lyon")
		if len(all) != 2 || len(lyon) != 1 || fmt.Sprint(lyon[0].Members) != "[m3 m1 m2]" || fmt.Sprint(all[1].Members) != "[x]" {
			t.Fatalf("lists %+v / %+v", all, lyon)
		}
		if err := db.DeleteParcours(ctx, "p1", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Parcours(ctx, "p1"); !errors.Is(err, issuing.ErrNotFound) {
			t.Fatalf("deleted parcours: %v", err)
		}
		if err := db.CreateParcours(ctx, p, issuing.AuditEntry{}); err != nil {
			t.Fatalf("parcours again after deletion: %v", err)
		}
	})
}
