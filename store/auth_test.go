package store_test

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/store"
)

// A session's user and memberships come back with it, in one read.
func TestSessionUser(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		trainer, err := db.CreateUser(ctx, auth.User{Email: "tina@example.org", Name: "Tina", CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		learner, err := db.CreateUser(ctx, auth.User{Email: "leo@example.org", Name: "Léo", CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []auth.Membership{{UserID: trainer.ID, Issuer: "ac-lyon", Role: auth.RoleTrainer}, {UserID: trainer.ID, Issuer: "ac-nice", Role: auth.RoleAdmin}} {
			if err := db.SetMembership(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		exp := t0.Add(time.Hour)
		for _, s := range []auth.Session{{IDHash: "h-trainer", UserID: trainer.ID, CSRF: "c1", ExpiresAt: exp}, {IDHash: "h-learner", UserID: learner.ID, CSRF: "c2", ExpiresAt: exp}} {
			if err := db.CreateSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		se, u, ms, err := db.SessionUser(ctx, "h-trainer")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Issuer < ms[j].Issuer })
		if se.UserID != trainer.ID || se.CSRF != "c1" || !se.ExpiresAt.Equal(exp) || u.Email != "tina@example.org" || u.Name != "Tina" ||
			len(ms) != 2 || ms[0].Issuer != "ac-lyon" || ms[0].Role != auth.RoleTrainer || ms[1].Issuer != "ac-nice" || ms[1].Role != auth.RoleAdmin {
			t.Fatalf("trainer's session: %+v %+v %+v", se, u, ms)
		}
		se, u, ms, err = db.SessionUser(ctx, "h-learner")
		if err != nil || se.CSRF != "c2" || u.ID != learner.ID || len(ms) != 0 {
			t.Fatalf("learner's session: %+v %+v %+v %v", se, u, ms, err)
		}
		if _, _, _, err := db.SessionUser(ctx, "h-unknown"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("unknown session: %v", err)
		}
		if err := db.DeleteSession(ctx, "h-learner"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := db.SessionUser(ctx, "h-learner"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
	})
}
