package xapi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/completion/xapi"
	"github.com/insigne/insigne/completion/xapi/xapitest"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// recorder keeps what it was asked to record.
type recorder struct {
	mu   sync.Mutex
	seen []completion.Completion
}

func (r *recorder) Record(_ context.Context, cs []completion.Completion) (completion.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, cs...)
	return completion.Result{Recorded: len(cs)}, nil
}

func eachStore(t *testing.T, f func(t *testing.T, db *store.DB)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db, err := store.Open(context.Background(), b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f(t, db)
		})
	}
}

func TestSave(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := &recorder{}
		svc := xapi.NewService(db, rec, base, func() time.Time { return t0 })
		cl, secret, err := svc.CreateClient(ctx, "versailles", "Magistère", "u1")
		if err != nil {
			t.Fatal(err)
		}
		count := func() int { n, _ := db.StatementCount(ctx); return n }

		s1 := xapitest.CourseCompleted(xapitest.UUID(1), site, 42, "C", ana, t0)
		noID := xapitest.CourseCompleted("", site, 42, "C", ana, t0)
		delete(noID, "id")
		ids, res, err := svc.Save(ctx, cl, xapitest.JSON([]any{s1, noID}), "")
		if err != nil || len(ids) != 2 || ids[0] != xapitest.UUID(1) || !xapi.IsUUID(ids[1]) || res.Recorded != 2 {
			t.Fatalf("save: %v %+v %v", ids, res, err)
		}
		if count() != 2 || rec.seen[0].Client != "versailles/lms:"+cl.Key {
			t.Fatalf("%d stored, client %q", count(), rec.seen[0].Client)
		}
		// Replayed: nothing new is stored, every completion is recorded
		// again (the recorder is idempotent).
		if _, _, err := svc.Save(ctx, cl, xapitest.JSON(s1), ""); err != nil || count() != 2 || len(rec.seen) != 3 {
			t.Fatalf("replay: %v, %d stored", err, count())
		}
		// PUT
		s2 := xapitest.CourseCompleted(xapitest.UUID(2), site, 42, "C", ana, t0)
		if _, _, err := svc.Save(ctx, cl, xapitest.JSON(s2), xapitest.UUID(3)); err == nil || !strings.Contains(err.Error(), "differs from the statementId") {
			t.Errorf("PUT with another id: %v", err)
		}
		if _, _, err := svc.Save(ctx, cl, xapitest.JSON([]any{s2}), xapitest.UUID(2)); err == nil || !strings.Contains(err.Error(), "single statement") {
			t.Errorf("PUT of an array: %v", err)
		}
		if ids, _, err := svc.Save(ctx, cl, xapitest.JSON(noID), xapitest.UUID(4)); err != nil || ids[0] != xapitest.UUID(4) {
			t.Errorf("PUT without id in the body: %v %v", ids, err)
		}
		// Conflicts store nothing of the batch.
		changed := xapitest.CourseCompleted(xapitest.UUID(1), site, 43, "C", ana, t0)
		before, seen := count(), len(rec.seen)
		if _, _, err := svc.Save(ctx, cl, xapitest.JSON([]any{s2, changed}), ""); !errors.Is(err, xapi.ErrConflict) {
			t.Errorf("conflict: %v", err)
		}
		twice := xapitest.CourseCompleted(xapitest.UUID(2), site, 44, "C", ana, t0)
		for _, batch := range [][]any{{s2, twice}, {s2, s2}} {
			if _, _, err := svc.Save(ctx, cl, xapitest.JSON(batch), ""); err == nil || !strings.Contains(err.Error(), "statement [1]: id") {
				t.Errorf("one id twice in a batch: %v", err)
			}
		}
		if count() != before || len(rec.seen) != seen {
			t.Errorf("a refused batch stored or recorded something")
		}

		// Authentication
		if got, err := svc.Authenticate(ctx, cl.Key, secret); err != nil || got.ID != cl.ID {
			t.Errorf("authenticate: %v", err)
		}
		for _, c := range [][2]string{{cl.Key, secret + "x"}, {"lms_unknown", secret}, {"", ""}, {cl.Key, ""}} {
			if _, err := svc.Authenticate(ctx, c[0], c[1]); !errors.Is(err, xapi.ErrUnauthenticated) {
				t.Errorf("authenticate %q: %v", c, err)
			}
		}
		if err := svc.RevokeClient(ctx, "versailles", cl.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, cl.Key, secret); !errors.Is(err, xapi.ErrUnauthenticated) {
			t.Errorf("revoked client: %v", err)
		}
		if _, _, err := svc.CreateClient(ctx, "versailles", "  ", ""); !errors.Is(err, xapi.ErrInvalid) {
			t.Errorf("empty name: %v", err)
		}
	})
}

// The same batch sent by several requests at once (an LMS retrying while
// the first request is still running) is stored once, without error.
func TestSaveConcurrentReplays(t *testing.T) {
	eachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := xapi.NewService(db, &recorder{}, base, func() time.Time { return t0 })
		cl, _, err := svc.CreateClient(ctx, "versailles", "Magistère", "")
		if err != nil {
			t.Fatal(err)
		}
		var batch []any
		for i := range 60 {
			batch = append(batch, xapitest.CourseCompleted(xapitest.UUID(100+i), site, 42, "C", xapitest.Learner{Email: fmt.Sprintf("p%d@ac-versailles.fr", i)}, t0))
		}
		body := xapitest.JSON(batch)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				if _, _, err := svc.Save(ctx, cl, body, ""); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent save: %v", err)
		}
		if n, _ := db.StatementCount(ctx); n != 60 {
			t.Errorf("%d statements stored, want 60", n)
		}
	})
}
