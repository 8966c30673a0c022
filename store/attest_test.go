package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/store"
)

func attestation(id, code, credID string) attest.Attestation {
	return attest.Attestation{ID: id, Code: code, Issuer: "ac-lyon", CredentialID: credID, LearnerEmail: credID + "@example.org",
		LearnerName: "Anaïs " + id, Fields: attest.Fields{Learner: attest.Learner{Name: "Anaïs " + id}, Modality: attest.Hybride,
			Training: attest.Training{Title: "Formation à l'évaluation", HoursInPerson: 6, HoursRemote: 1.5, Trainers: []string{"Éloïse"}}},
		PDFSHA256: "sha-" + id, PDFSize: 4242, PDF: []byte("%PDF-1.7 " + id + "\x00\xff"), CreatedBy: "test", CreatedAt: t0}
}

func TestAttestations(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		if err := db.InsertCredentials(ctx, []issuing.Credential{cred("c1", "ac-lyon", "a1", 1), cred("c2", "ac-lyon", "a1", 2), cred("c3", "ac-lyon", "a1", 3)}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateAttestations(ctx, []attest.Attestation{attestation("t1", "AAAA2222BB", "c1")}, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		for name, get := range map[string]func() (*attest.Attestation, error){
			"id":         func() (*attest.Attestation, error) { return db.Attestation(ctx, "t1") },
			"code":       func() (*attest.Attestation, error) { return db.AttestationByCode(ctx, "AAAA2222BB") },
			"sha":        func() (*attest.Attestation, error) { return db.AttestationBySHA256(ctx, "sha-t1") },
			"credential": func() (*attest.Attestation, error) { return db.AttestationByCredential(ctx, "c1") },
		} {
			a, err := get()
			if err != nil {
				t.Fatalf("by %s: %v", name, err)
			}
			if a.ID != "t1" || a.Fields.Training.HoursRemote != 1.5 || a.Fields.Learner.Name != "Anaïs t1" || a.PDFSize != 4242 || !a.CreatedAt.Equal(t0) || a.BatchID != "" {
				t.Errorf("by %s: %+v", name, a)
			}
		}
		if pdf, err := db.AttestationPDF(ctx, "t1"); err != nil || string(pdf) != "%PDF-1.7 t1\x00\xff" {
			t.Errorf("PDF %q %v", pdf, err)
		}
		if _, err := db.AttestationPDF(ctx, "nope"); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("PDF of no attestation: %v", err)
		}
		if _, err := db.AttestationByCode(ctx, "ZZZZ2222BB"); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		// A code taken twice, or a credential attested twice: nothing of
		// the request is written.
		err := db.CreateAttestations(ctx, []attest.Attestation{attestation("t2", "CCCC2222DD", "c2"), attestation("t3", "AAAA2222BB", "c3")}, nil, nil, nil)
		if !errors.Is(err, attest.ErrConflict) {
			t.Fatalf("duplicate code: %v", err)
		}
		if _, err := db.Attestation(ctx, "t2"); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("half a failed insert was kept: %v", err)
		}
		if err := db.CreateAttestations(ctx, []attest.Attestation{attestation("t4", "EEEE2222FF", "c1")}, nil, nil, nil); !errors.Is(err, attest.ErrConflict) {
			t.Errorf("credential attested twice: %v", err)
		}
	})
}

func TestAttestationBatches(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		b := attest.Batch{ID: "b1", Issuer: "ac-lyon", State: attest.BatchQueued, Total: 2, Session: json.RawMessage(`{"session":{}}`),
			Achievement: "a1", CreatedBy: "test", CreatedAt: t0}
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateBatch(ctx, b); !errors.Is(err, attest.ErrConflict) {
			t.Errorf("same batch twice: %v", err)
		}
		// Two workers race for it: one wins.
		var wg sync.WaitGroup
		won := make(chan string, 2)
		for range 2 {
			wg.Go(func() {
				if c, err := db.ClaimBatch(ctx, t0, t0.Add(time.Minute)); err == nil {
					won <- c.ID
				}
			})
		}
		wg.Wait()
		close(won)
		if n := len(won); n != 1 {
			t.Fatalf("%d workers claimed the batch", n)
		}
		if _, err := db.ClaimBatch(ctx, t0.Add(time.Second), t0.Add(time.Minute)); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("a leased batch was claimed again: %v", err)
		}
		// Its worker dies: after the lease, another takes it over.
		if c, err := db.ClaimBatch(ctx, t0.Add(2*time.Minute), t0.Add(3*time.Minute)); err != nil || c.ID != "b1" || c.State != attest.BatchRunning {
			t.Fatalf("take-over: %+v %v", c, err)
		}
		if err := db.InsertCredentials(ctx, []issuing.Credential{cred("c1", "ac-lyon", "a1", 1), cred("c2", "ac-lyon", "a1", 2)}, nil, nil); err != nil {
			t.Fatal(err)
		}
		a1 := attestation("t1", "AAAA2222BB", "c1")
		a1.BatchID, a1.BatchRow = "b1", 1
		if err := db.CreateAttestations(ctx, []attest.Attestation{a1}, nil, nil, &attest.BatchProgress{BatchID: "b1", Done: 1}); err != nil {
			t.Fatal(err)
		}
		// The same row twice (a resumed chunk) is refused, progress unmoved.
		a2 := attestation("t2", "CCCC2222DD", "c2")
		a2.BatchID, a2.BatchRow = "b1", 1
		if err := db.CreateAttestations(ctx, []attest.Attestation{a2}, nil, nil, &attest.BatchProgress{BatchID: "b1", Done: 1}); !errors.Is(err, attest.ErrConflict) {
			t.Fatalf("same row twice: %v", err)
		}
		a2.BatchRow = 2
		if err := db.CreateAttestations(ctx, []attest.Attestation{a2}, nil, nil, &attest.BatchProgress{BatchID: "b1", Done: 1, Errors: []attest.RowError{{Row: 3, Message: "x"}}, Finish: true}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Batch(ctx, "b1")
		if err != nil || got.State != attest.BatchDone || got.Done != 2 || len(got.Errors) != 1 || got.Achievement != "a1" {
			t.Fatalf("batch %+v %v", got, err)
		}
		as, err := db.BatchAttestations(ctx, "b1")
		if err != nil || len(as) != 2 || as[0].ID != "t1" || as[1].BatchRow != 2 {
			t.Fatalf("batch attestations %+v %v", as, err)
		}
		if err := db.FailBatch(ctx, "b1", "plus de clé"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Batch(ctx, "b1"); got.State != attest.BatchFailed || got.Errors[0].Message != "plus de clé" {
			t.Errorf("failed batch %+v", got)
		}
	})
}

// A learner's attestations are found by any of their addresses, newest
// first; an issuer's batches by issuer, newest first, and no other's.
func TestAttestationListings(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkIssuer(t, db, "ac-nice")
		mkAchievement(t, db, "ac-lyon", "a1")
		if err := db.InsertCredentials(ctx, []issuing.Credential{cred("c1", "ac-lyon", "a1", 1), cred("c2", "ac-lyon", "a1", 2), cred("c3", "ac-lyon", "a1", 3)}, nil, nil); err != nil {
			t.Fatal(err)
		}
		a1, a2, a3 := attestation("t1", "AAAA2222BB", "c1"), attestation("t2", "CCCC2222DD", "c2"), attestation("t3", "EEEE2222FF", "c3")
		a1.LearnerEmail, a2.LearnerEmail, a3.LearnerEmail = "ana@ac-lyon.fr", "ana.martin@gmail.com", "jules@ac-lyon.fr"
		a2.CreatedAt = t0.Add(time.Hour)
		if err := db.CreateAttestations(ctx, []attest.Attestation{a1, a2, a3}, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.LearnerAttestations(ctx, []string{"ana@ac-lyon.fr", "ana.martin@gmail.com"}, 10)
		if err != nil || len(got) != 2 || got[0].ID != "t2" || got[1].ID != "t1" || got[0].PDF != nil {
			t.Fatalf("learner attestations %+v %v", got, err)
		}
		if got, err := db.LearnerAttestations(ctx, []string{"ana@ac-lyon.fr", "ana.martin@gmail.com"}, 1); err != nil || len(got) != 1 || got[0].ID != "t2" {
			t.Errorf("limited to 1: %+v %v", got, err)
		}
		if got, err := db.LearnerAttestations(ctx, []string{"nobody@ac-lyon.fr"}, 10); err != nil || len(got) != 0 {
			t.Errorf("nobody's attestations: %+v %v", got, err)
		}
		for i, is := range []string{"ac-lyon", "ac-nice", "ac-lyon"} {
			b := attest.Batch{ID: fmt.Sprintf("b%d", i), Issuer: is, State: attest.BatchQueued, Total: 2, Session: json.RawMessage(`{"session":{}}`),
				CreatedBy: "test", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if err := db.CreateBatch(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		bs, err := db.Batches(ctx, "ac-lyon", 10)
		if err != nil || len(bs) != 2 || bs[0].ID != "b2" || bs[1].ID != "b0" || bs[0].Issuer != "ac-lyon" {
			t.Fatalf("ac-lyon's batches %+v %v", bs, err)
		}
		if bs, err := db.Batches(ctx, "ac-paris", 10); err != nil || len(bs) != 0 {
			t.Errorf("batches of an issuer with none: %+v %v", bs, err)
		}
	})
}
