package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
)

func TestFrameworkVersions(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := competency.Record{ID: "06fda6c5-ad51-5d9c-b61f-08cbe1146296", Title: "Référentiel", Hash: "h1", Source: "case", Items: 3, CreatedBy: "test", CreatedAt: t0, Data: []byte(`{"v":1}`)}
		got, created, err := db.AddFrameworkVersion(ctx, rec, nil)
		if err != nil || !created || got.Version != 1 {
			t.Fatalf("first: %+v %v %v", got, created, err)
		}
		// Same content: nothing new.
		got, created, err = db.AddFrameworkVersion(ctx, rec, nil)
		if err != nil || created || got.Version != 1 || got.Hash != "h1" {
			t.Fatalf("same content: %+v %v %v", got, created, err)
		}
		rec.Hash, rec.Data, rec.Title = "h2", []byte(`{"v":2}`), "Référentiel révisé"
		got, created, err = db.AddFrameworkVersion(ctx, rec, nil)
		if err != nil || !created || got.Version != 2 {
			t.Fatalf("changed content: %+v %v %v", got, created, err)
		}
		// Going back to the first content is a change too.
		rec.Hash, rec.Data = "h1", []byte(`{"v":1}`)
		if got, created, err = db.AddFrameworkVersion(ctx, rec, nil); err != nil || !created || got.Version != 3 {
			t.Fatalf("back to v1 content: %+v %v %v", got, created, err)
		}
		other := competency.Record{ID: "2b6c7f40-5a9e-5f43-9d6b-0c1f8a1e2d3c", Title: "Autre", Hash: "x", CreatedAt: t0, Data: []byte(`{}`)}
		if _, _, err := db.AddFrameworkVersion(ctx, other, nil); err != nil {
			t.Fatal(err)
		}
		latest, err := db.LatestFrameworks(ctx)
		if err != nil || len(latest) != 2 {
			t.Fatalf("latest: %+v %v", latest, err)
		}
		if latest[0].Title != "Autre" || latest[1].Version != 3 || latest[1].Data != nil || !latest[1].CreatedAt.Equal(t0) {
			t.Errorf("latest: %+v", latest)
		}
		v2, err := db.FrameworkVersion(ctx, rec.ID, 2)
		if err != nil || string(v2.Data) != `{"v":2}` || v2.Title != "Référentiel révisé" {
			t.Fatalf("version 2: %+v %v", v2, err)
		}
		last, err := db.FrameworkVersion(ctx, rec.ID, 0)
		if err != nil || last.Version != 3 || string(last.Data) != `{"v":1}` {
			t.Fatalf("latest version: %+v %v", last, err)
		}
		if _, err := db.FrameworkVersion(ctx, rec.ID, 9); !errors.Is(err, competency.ErrNotFound) {
			t.Errorf("version 9: %v", err)
		}
		if _, err := db.FrameworkVersions(ctx, "nope"); !errors.Is(err, competency.ErrNotFound) {
			t.Errorf("versions of nothing: %v", err)
		}
		vs, err := db.FrameworkVersions(ctx, rec.ID)
		if err != nil || len(vs) != 3 || vs[0].Version != 3 {
			t.Fatalf("versions: %+v %v", vs, err)
		}
	})
}

// Concurrent imports of different contents each get a version of their
// own: no version number is given twice, none is lost.
func TestFrameworkVersionsConcurrent(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := range 4 {
			wg.Go(func() {
				_, _, err := db.AddFrameworkVersion(ctx, competency.Record{ID: "06fda6c5-ad51-5d9c-b61f-08cbe1146296", Title: "T",
					Hash: string(rune('a' + i)), CreatedAt: t0, Data: []byte(`{}`)}, nil)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		vs, err := db.FrameworkVersions(ctx, "06fda6c5-ad51-5d9c-b61f-08cbe1146296")
		if err != nil || len(vs) != 4 || vs[0].Version != 4 {
			t.Fatalf("versions: %+v %v", vs, err)
		}
	})
}

func TestLearnersAndCredentialFacts(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkIssuer(t, db, "ac-nice")
		mkAchievement(t, db, "ac-lyon", "a1")
		mkAchievement(t, db, "ac-nice", "a2")
		c1 := cred("c1", "ac-lyon", "a1", 1)
		c2 := cred("c2", "ac-nice", "a2", 2)
		c3 := cred("c3", "ac-lyon", "a1", 3)
		c2.RecipientEmail, c3.RecipientEmail = c1.RecipientEmail, "other@example.org"
		if err := db.InsertCredentials(ctx, []issuing.Credential{c1, c2, c3}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetLearnerAttributes(ctx, competency.Learner{Email: c1.RecipientEmail, Name: "Camille", Academie: "Lyon", Departement: "69", Discipline: "Mathématiques", UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetLearnerAttributes(ctx, competency.Learner{Email: c1.RecipientEmail, Name: "Camille", Academie: "Lyon", Departement: "01", Discipline: "Mathématiques", UpdatedAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		l, err := db.LearnerAttributes(ctx, c1.RecipientEmail)
		if err != nil || l.Departement != "01" || !l.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("learner: %+v %v", l, err)
		}
		if _, err := db.LearnerAttributes(ctx, "nobody@example.org"); !errors.Is(err, competency.ErrNotFound) {
			t.Errorf("unknown learner: %v", err)
		}
		facts, err := db.LearnerCredentials(ctx, c1.RecipientEmail)
		if err != nil || len(facts) != 2 || facts[0].ID != "c1" || facts[1].Issuer != "ac-nice" || facts[0].Academie != "Lyon" || string(facts[0].Signed) != string(c1.Signed) {
			t.Fatalf("learner credentials: %+v %v", facts, err)
		}
		if err := db.SetCredentialState(ctx, "c3", issuing.StateRevoked, "erreur", issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		lyon, err := db.CredentialFacts(ctx, "ac-lyon")
		if err != nil || len(lyon) != 1 || lyon[0].ID != "c1" || lyon[0].Discipline != "Mathématiques" {
			t.Fatalf("facts of ac-lyon (c3 revoked): %+v %v", lyon, err)
		}
		all, err := db.CredentialFacts(ctx, "")
		if err != nil || len(all) != 2 || all[0].Signed != nil {
			t.Fatalf("all facts: %+v %v", all, err)
		}
		signed, err := db.SignedCredentials(ctx, []string{"c1", "c3", "nope"})
		if err != nil || len(signed) != 2 || string(signed["c3"]) != string(c3.Signed) {
			t.Fatalf("signed credentials: %q %v", signed, err)
		}
	})
}

func TestPendingAwards(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		p := issuing.PendingAward{ID: "p1", Issuer: "ac-lyon", AchievementID: "a1", AchievementVersion: 1,
			Request:    issuing.AwardRequest{Achievement: "a1", Recipients: []issuing.RecipientInput{{Email: "x@example.org"}}, Narrative: "Très bien"},
			ProposedBy: "user:u1", Proposer: "user:u1", State: issuing.PendingWaiting, CreatedAt: t0}
		if err := db.CreatePendingAward(ctx, p, issuing.AuditEntry{Actor: "user:u1", Action: "award.propose", Issuer: "ac-lyon"}); err != nil {
			t.Fatal(err)
		}
		p2 := p
		p2.ID, p2.CreatedAt = "p2", t0.Add(time.Minute)
		if err := db.CreatePendingAward(ctx, p2, issuing.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		got, err := db.PendingAward(ctx, "p1")
		if err != nil || got.Request.Narrative != "Très bien" || got.Proposer != "user:u1" || len(got.Credentials) != 0 {
			t.Fatalf("pending: %+v %v", got, err)
		}
		if _, err := db.PendingAward(ctx, "nope"); !errors.Is(err, issuing.ErrNotFound) {
			t.Errorf("unknown: %v", err)
		}
		// Approve p1 with its credential, in one transaction.
		c := cred("c1", "ac-lyon", "a1", 7)
		got.State, got.DecidedBy, got.DecidedAt, got.Credentials = issuing.PendingApproved, "user:u2", t0.Add(time.Hour), []string{"c1"}
		if err := db.DecidePendingAward(ctx, *got, []issuing.Credential{c}, []issuing.AuditEntry{{Actor: "user:u2", Action: "award.approve", Issuer: "ac-lyon"}}); err != nil {
			t.Fatal(err)
		}
		// A second decision finds it decided and writes nothing: the
		// credential of a second approval would collide on nothing, yet
		// must not be stored.
		c2 := cred("c2", "ac-lyon", "a1", 8)
		if err := db.DecidePendingAward(ctx, *got, []issuing.Credential{c2}, nil); !errors.Is(err, issuing.ErrAlreadyDecided) {
			t.Fatalf("second approval: %v", err)
		}
		if _, err := db.Credential(ctx, "c2"); !errors.Is(err, issuing.ErrNotFound) {
			t.Errorf("the refused approval stored its credential: %v", err)
		}
		if _, err := db.Credential(ctx, "c1"); err != nil {
			t.Errorf("approved credential: %v", err)
		}
		back, _ := db.PendingAward(ctx, "p1")
		if back.State != issuing.PendingApproved || back.DecidedBy != "user:u2" || len(back.Credentials) != 1 || !back.DecidedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("approved: %+v", back)
		}
		waiting, err := db.PendingAwards(ctx, "ac-lyon", issuing.PendingWaiting)
		if err != nil || len(waiting) != 1 || waiting[0].ID != "p2" {
			t.Fatalf("waiting: %+v %v", waiting, err)
		}
		all, err := db.PendingAwards(ctx, "ac-lyon", "")
		if err != nil || len(all) != 2 || all[0].ID != "p1" {
			t.Fatalf("all: %+v %v", all, err)
		}
		if r := all[1].Request; r.Narrative != "Très bien" || len(r.Recipients) != 1 || r.Recipients[0].Email != "x@example.org" {
			t.Errorf("stored request: %+v", r)
		}
	})
}

// The owner of a framework is its first importer's issuer: later versions
// keep it whoever adds them, and allow sees the latest version inside the
// transaction and can refuse the new one, which then is not stored.
func TestFrameworkOwner(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const id = "06fda6c5-ad51-5d9c-b61f-08cbe1146296"
		rec := competency.Record{ID: id, Title: "T", Hash: "h1", Owner: "ac-lyon", CreatedAt: t0, Data: []byte(`{}`)}
		if got, _, err := db.AddFrameworkVersion(ctx, rec, func(competency.Record) error { t.Error("allow called for a new framework"); return nil }); err != nil || got.Owner != "ac-lyon" {
			t.Fatalf("first: %+v %v", got, err)
		}
		refuse := errors.New("refused")
		var seen competency.Record
		rec.Hash, rec.Owner = "h2", "ac-nantes"
		_, created, err := db.AddFrameworkVersion(ctx, rec, func(latest competency.Record) error { seen = latest; return refuse })
		if err != refuse || created || seen.Owner != "ac-lyon" || seen.Version != 1 {
			t.Fatalf("refused: %v %v seen %+v", err, created, seen)
		}
		if vs, _ := db.FrameworkVersions(ctx, id); len(vs) != 1 {
			t.Fatalf("a refused version was stored: %+v", vs)
		}
		// Same content as the latest: allow is not asked.
		rec.Hash = "h1"
		if _, created, err := db.AddFrameworkVersion(ctx, rec, func(competency.Record) error { return refuse }); err != nil || created {
			t.Fatalf("same content: %v %v", created, err)
		}
		rec.Hash = "h2"
		got, created, err := db.AddFrameworkVersion(ctx, rec, nil)
		if err != nil || !created || got.Version != 2 || got.Owner != "ac-lyon" {
			t.Fatalf("second version: %+v %v %v", got, created, err)
		}
		last, err := db.FrameworkVersion(ctx, id, 0)
		if err != nil || last.Owner != "ac-lyon" {
			t.Fatalf("latest: %+v %v", last, err)
		}
		latest, err := db.LatestFrameworks(ctx)
		if err != nil || len(latest) != 1 || latest[0].Owner != "ac-lyon" {
			t.Fatalf("latest frameworks: %+v %v", latest, err)
		}
	})
}
