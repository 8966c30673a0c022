package issuing_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// countingStore counts the question "how far are the issuer's status
// lists used?", which reads the issuer's credentials.
type countingStore struct {
	issuing.Store
	usage atomic.Int32
}

func (c *countingStore) StatusUsage(ctx context.Context, issuer string) (int, int, error) {
	c.usage.Add(1)
	return c.Store.StatusUsage(ctx, issuer)
}

// A status list once signed is served from the store without counting the
// issuer's credentials again: every verification fetches it.
func TestSignedStatusListServedWithoutCounting(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, b.DSN(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			kek := make([]byte, keys.KEKSize)
			rand.Read(kek)
			sealer, _ := keys.NewSealer(kek)
			l, err := jsonld.NewLoader()
			if err != nil {
				t.Fatal(err)
			}
			cs := &countingStore{Store: db}
			svc := issuing.New(issuing.Config{Store: cs, Blobs: store.DiskBlobs{Dir: t.TempDir()}, Sealer: sealer,
				Canon: jsonld.NewCanonicalizer(l, jsonld.DefaultLimits), BaseURL: "https://badges.example.fr"})
			if _, err := svc.CreateIssuer(ctx, "test", issuing.IssuerInput{Slug: "ac-nice", Name: "Académie de Nice", URL: "https://www.ac-nice.fr"}); err != nil {
				t.Fatal(err)
			}
			first, _, err := svc.StatusListCredential(ctx, "ac-nice", 1)
			if err != nil {
				t.Fatal(err)
			}
			before := cs.usage.Load()
			for range 3 {
				again, _, err := svc.StatusListCredential(ctx, "ac-nice", 1)
				if err != nil {
					t.Fatal(err)
				}
				if string(again) != string(first) {
					t.Fatal("the list was signed again though nothing changed")
				}
			}
			if n := cs.usage.Load() - before; n != 0 {
				t.Errorf("serving the signed list counted the issuer's credentials %d times", n)
			}
			// A list that was never used is still not found.
			if _, _, err := svc.StatusListCredential(ctx, "ac-nice", 2); !errors.Is(err, issuing.ErrNotFound) {
				t.Errorf("list 2: %v, want not found", err)
			}
		})
	}
}
