package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/store"
)

func TestAttestationMerged(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mkIssuer(t, db, "ac-lyon")
		mkAchievement(t, db, "ac-lyon", "a1")
		b := attest.Batch{ID: "b1", Issuer: "ac-lyon", State: attest.BatchQueued, Total: 2, Session: json.RawMessage(`{"session":{}}`),
			Achievement: "a1", CreatedBy: "test", CreatedAt: t0}
		if err := db.CreateBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimBatch(ctx, t0, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Batch(ctx, "b1"); got.MergedSHA256 != "" || got.MergedSize != 0 {
			t.Errorf("a batch not merged reads %q %d", got.MergedSHA256, got.MergedSize)
		}
		if _, err := db.MergedPDF(ctx, "b1"); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("merged PDF before the merge: %v", err)
		}
		pdf := []byte("%PDF-1.3 merged\x00\xff")
		if err := db.FinishMerged(ctx, "b1", "sha-1", pdf, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// A resumed merge replaces the first.
		pdf = append(pdf, '!')
		if err := db.FinishMerged(ctx, "b1", "sha-2", pdf, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := db.Batch(ctx, "b1")
		if err != nil || got.State != attest.BatchDone || got.MergedSHA256 != "sha-2" || got.MergedSize != int64(len(pdf)) {
			t.Fatalf("batch after the merge: %+v %v", got, err)
		}
		if p, err := db.MergedPDF(ctx, "b1"); err != nil || string(p) != string(pdf) {
			t.Errorf("merged PDF %q %v", p, err)
		}
		if bb, err := db.BatchByMergedSHA256(ctx, "sha-2"); err != nil || bb.ID != "b1" || bb.MergedSHA256 != "sha-2" {
			t.Errorf("by SHA-256: %+v %v", bb, err)
		}
		if _, err := db.BatchByMergedSHA256(ctx, "sha-1"); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("the replaced hash still finds the batch: %v", err)
		}
		if err := db.FinishMerged(ctx, "nope", "sha-3", pdf, t0); err == nil {
			t.Error("a merged PDF for no batch was stored")
		}
	})
}
