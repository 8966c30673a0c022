package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/store"
)

func stmt(n int, hash string) xapi.Stored {
	return xapi.Stored{ID: fmt.Sprintf("6f1e2d3c-4b5a-4f69-8e7d-%012x", n), Hash: hash, JSON: []byte(fmt.Sprintf(`{"n":%d}`, n)), Client: "c1", Stored: t0}
}

func TestStatements(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		batch := make([]xapi.Stored, 450) // more than one chunk
		for i := range batch {
			batch[i] = stmt(i, "h")
		}
		n, err := db.SaveStatements(ctx, batch)
		if err != nil || n != 450 {
			t.Fatalf("first save: %d, %v", n, err)
		}
		// Sent again, with new ones mixed in: only the new ones count.
		again := append([]xapi.Stored{stmt(1000, "h")}, batch[100:200]...)
		if n, err := db.SaveStatements(ctx, again); err != nil || n != 1 {
			t.Fatalf("replay: %d, %v", n, err)
		}
		// A conflict anywhere stores nothing of the batch.
		conflict := []xapi.Stored{stmt(2000, "h"), stmt(3, "other")}
		if _, err := db.SaveStatements(ctx, conflict); !errors.Is(err, xapi.ErrConflict) {
			t.Fatalf("conflict: %v", err)
		}
		if _, err := db.StatementByID(ctx, stmt(2000, "h").ID); !errors.Is(err, xapi.ErrNotFound) {
			t.Errorf("a statement of the refused batch was stored: %v", err)
		}
		if c, _ := db.StatementCount(ctx); c != 451 {
			t.Errorf("%d statements stored, want 451", c)
		}
		got, err := db.StatementByID(ctx, batch[7].ID)
		if err != nil || string(got.JSON) != `{"n":7}` || got.Hash != "h" || got.Client != "c1" || !got.Stored.Equal(t0) {
			t.Errorf("StatementByID: %+v, %v", got, err)
		}
	})
}

func TestLMSClients(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := xapi.Client{ID: "id-a", Key: "lms_a", SecretHash: "ha", Name: "Magistère Versailles", Issuer: "versailles", CreatedBy: "u1", CreatedAt: t0}
		b := xapi.Client{ID: "id-b", Key: "lms_b", SecretHash: "hb", Name: "Éléa", Issuer: "versailles", CreatedAt: t0.Add(time.Minute)}
		for _, c := range []xapi.Client{a, b, {ID: "id-c", Key: "lms_c", Issuer: "creteil", CreatedAt: t0}} {
			if err := db.CreateLMSClient(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateLMSClient(ctx, xapi.Client{ID: "id-d", Key: "lms_a", Issuer: "x", CreatedAt: t0}); !errors.Is(err, xapi.ErrConflict) {
			t.Errorf("same key twice: %v", err)
		}
		got, err := db.LMSClientByKey(ctx, "lms_a")
		if err != nil || got.ID != a.ID || got.SecretHash != "ha" || got.Name != a.Name || got.CreatedBy != "u1" || !got.CreatedAt.Equal(t0) || got.RevokedAt != nil {
			t.Errorf("by key: %+v, %v", got, err)
		}
		if _, err := db.LMSClientByKey(ctx, "lms_z"); !errors.Is(err, xapi.ErrNotFound) {
			t.Errorf("unknown key: %v", err)
		}
		list, err := db.LMSClients(ctx, "versailles")
		if err != nil || len(list) != 2 || list[0].ID != "id-b" {
			t.Errorf("list: %+v, %v", list, err)
		}
		if err := db.RevokeLMSClient(ctx, "creteil", "id-a", t0); !errors.Is(err, xapi.ErrNotFound) {
			t.Errorf("revoking another issuer's client: %v", err)
		}
		for i := range 2 {
			if err := db.RevokeLMSClient(ctx, "versailles", "id-a", t0.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		got, _ = db.LMSClientByID(ctx, "id-a")
		if got.RevokedAt == nil || !got.RevokedAt.Equal(t0) {
			t.Errorf("revoked at %v, want the first revocation %v", got.RevokedAt, t0)
		}
	})
}
