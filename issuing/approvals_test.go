package issuing_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
)

// Several assessors approving the same award at the same moment issue it
// once: the decision and the credentials are committed together, and only
// from the pending state. The issued credential verifies.
func TestApproveOnceUnderRace(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := f.setup(t)
		p, err := f.svc.Prepare(ctx, issuing.AwardRequest{Achievement: a.ID, Recipients: []issuing.RecipientInput{{Email: "lea@example.org"}}, Narrative: "Observée."})
		if err != nil {
			t.Fatal(err)
		}
		pa, err := f.svc.Propose(ctx, "user:u1", "user:u1", p)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.ApproveAward(ctx, "user:u1", "user:u1", pa.ID); !errors.Is(err, issuing.ErrSameAssessor) {
			t.Fatalf("self-approval: %v", err)
		}
		if _, err := f.svc.RejectAward(ctx, "user:u1", "user:u1", pa.ID, "non"); !errors.Is(err, issuing.ErrSameAssessor) {
			t.Fatalf("self-rejection: %v", err)
		}
		const n = 4
		var wg sync.WaitGroup
		results := make(chan error, n)
		creds := make(chan []issuing.Credential, n)
		for i := range n {
			wg.Go(func() {
				who := "user:a" + string(rune('0'+i))
				_, cs, err := f.svc.ApproveAward(ctx, who, who, pa.ID)
				results <- err
				if err == nil {
					creds <- cs
				}
			})
		}
		wg.Wait()
		close(results)
		close(creds)
		ok := 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, issuing.ErrAlreadyDecided):
				t.Errorf("approval: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d approvals succeeded, want 1", ok)
		}
		all, total, err := f.svc.Credentials(ctx, issuing.CredentialQuery{Issuer: "ac-lyon"})
		if err != nil || total != 1 {
			t.Fatalf("%d credentials (%v), want 1", total, err)
		}
		if v := f.verdict(t, all[0]); v != badges.Valid {
			t.Errorf("approved credential: %s", v)
		}
		got, err := f.svc.PendingAward(ctx, pa.ID)
		if err != nil || got.State != issuing.PendingApproved || len(got.Credentials) != 1 || got.Credentials[0] != all[0].ID {
			t.Errorf("decided award: %+v %v", got, err)
		}
		if _, err := f.svc.RejectAward(ctx, "user:b", "user:b", pa.ID, "trop tard"); !errors.Is(err, issuing.ErrAlreadyDecided) {
			t.Errorf("rejecting an approved award: %v", err)
		}
	})
}
