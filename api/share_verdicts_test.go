package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// countingVerifier counts the verifications the share pages ask for.
type countingVerifier struct {
	api.Verifier
	n atomic.Int32
}

func (c *countingVerifier) Verify(ctx context.Context, in []byte, o badges.Options) (*badges.Report, error) {
	c.n.Add(1)
	return c.Verifier.Verify(ctx, in, o)
}

// A share page verifies an imported credential once a minute at most: a
// second view within the minute answers the same verdict without
// verifying again, one after it verifies again. An issued credential
// revoked here is verified again at once, and shown revoked.
func TestSharePageVerdictsAreCachedAMinute(t *testing.T) {
	clock := &testClock{t: time.Now()}
	var counted *countingVerifier
	ts := newTestServer(t, storetest.SQLite(t), func(base string, c *api.Config) {
		canon, schemas := shared(t)
		v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: selfDocs{base}})
		counted = &countingVerifier{Verifier: v}
		c.Verifier, c.Now = counted, clock.Now
		c.Backpack = backpack.New(backpack.Config{Store: c.Idempotency.(*store.DB), Verifier: v, Issuing: c.Issuing, BaseURL: base})
	})
	ts.createIssuer(t, "ac-lyon")
	ach := ts.createAchievement(t, ts.Root, "ac-lyon", "Coopérer")
	usr, err := ts.DB.CreateUser(context.Background(), auth.User{Email: "anne@example.org", Name: "Anne", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	anne := ts.newSession(t, usr.ID)
	issued := ts.award(t, ts.Root, ach, "anne@example.org")[0]
	var imp struct{ ID string }
	ts.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: anne, Body: readValidator(t, "simple.json"), ContentType: "application/json"}).json(t, &imp)
	share := func(id string) string {
		var sh struct{ ID string }
		ts.must(t, 201, "POST", "/api/v1/backpack/shares", req{Session: anne, JSON: map[string]any{"kind": "credential", "id": id}}).json(t, &sh)
		return "/s/" + sh.ID
	}
	view := func(path string) string {
		t.Helper()
		return strings.ToLower(string(ts.must(t, http.StatusOK, "GET", path, req{}).Body))
	}
	verifications := func(want int32, when string) {
		t.Helper()
		if n := counted.n.Swap(0); n != want {
			t.Fatalf("%s: %d verifications, want %d", when, n, want)
		}
	}

	imported := share(imp.ID)
	counted.n.Store(0)
	first := view(imported)
	verifications(1, "first view")
	clock.Add(59 * time.Second)
	if again := view(imported); again != first {
		t.Errorf("the second view differs from the first")
	}
	verifications(0, "a view 59 s later")
	clock.Add(2 * time.Second)
	view(imported)
	verifications(1, "a view 61 s after the first")

	own := share(issued)
	counted.n.Store(0)
	if page := view(own); !strings.Contains(page, "authentique et valide") {
		t.Fatalf("issued credential's page:\n%s", page)
	}
	view(own)
	verifications(1, "two views of the issued credential")
	ts.must(t, 200, "POST", "/api/v1/credentials/"+issued+"/revoke", req{Bearer: ts.Root, JSON: map[string]string{"reason": "erreur"}})
	if page := view(own); !strings.Contains(page, "révoqué") {
		t.Fatalf("revoked credential's page:\n%s", page)
	}
	verifications(1, "a view after the revocation")
}
