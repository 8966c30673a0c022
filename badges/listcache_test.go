package badges_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/insigne/insigne/badges"
)

// countingDocs is a fake network that counts the fetches of each URL and
// can be changed between verifications.
type countingDocs struct {
	mu    sync.Mutex
	docs  docs
	count map[string]int
}

func (c *countingDocs) FetchDocument(ctx context.Context, url, accept string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count[url]++
	return c.docs.FetchDocument(ctx, url, accept)
}

func (c *countingDocs) set(url string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b == nil {
		delete(c.docs, url)
	} else {
		c.docs[url] = b
	}
}

func (c *countingDocs) fetches(url string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count[url]
}

// A status list whose proof held is not checked again while the same bytes
// come back; other bytes (a forged list) are, and a list that could not be
// trusted once is checked again the next time.
func TestStatusListProofRemembered(t *testing.T) {
	const (
		listURL = "https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist"
		keyDoc  = "https://1edtech.edu/issuers/565049"
	)
	net := &countingDocs{docs: exampleNetwork(t), count: map[string]int{}}
	v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas(t), Canon: canonicalizer(t), Docs: net})
	cred, err := os.ReadFile(filepath.Join(examplesDir, "bit-string-list", "credential-status-revoked.json"))
	if err != nil {
		t.Fatal(err)
	}
	verify := func() *badges.Report {
		t.Helper()
		r, err := v.Verify(context.Background(), cred, badges.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	statusCheck := func(r *badges.Report) badges.Check {
		t.Helper()
		for _, c := range r.Checks {
			if c.Name == "status" {
				return c
			}
		}
		t.Fatalf("no status check in %+v", r.Checks)
		return badges.Check{}
	}

	r := verify()
	if r.Status != "revoked" || r.Verdict != badges.Invalid {
		t.Fatalf("first verification: status %q, verdict %s; want revoked, invalid", r.Status, r.Verdict)
	}
	first := net.fetches(keyDoc)
	r = verify()
	if r.Status != "revoked" || r.Verdict != badges.Invalid {
		t.Fatalf("second verification: status %q, verdict %s; want revoked, invalid", r.Status, r.Verdict)
	}
	if got := net.fetches(keyDoc) - first; got >= first {
		t.Errorf("the second verification fetched the key document %d times, the first %d: the list's proof was checked again", got, first)
	}
	if net.fetches(listURL) != 2 {
		t.Errorf("the list was fetched %d times, want once per verification", net.fetches(listURL))
	}

	// A forged list: the same proof over other bits ("unrevoked").
	genuine := net.docs[listURL]
	forged := strings.Replace(string(genuine), `"encodedList": "uH4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA"`,
		`"encodedList": "uH4sIAAAAAAAA_-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"`, 1)
	if forged == string(genuine) {
		t.Fatal("the test list changed: its encodedList was not found")
	}
	net.set(listURL, []byte(forged))
	r = verify()
	if c := statusCheck(r); r.Status == "revoked" || !c.Warning || !strings.Contains(c.Message, "could not be trusted") {
		t.Errorf("forged list: status %q, check %+v; want the list refused", r.Status, c)
	}

	// The genuine list again: trusted, the forged one did not spoil it.
	net.set(listURL, genuine)
	if r := verify(); r.Status != "revoked" {
		t.Errorf("genuine list after the forged one: status %q, want revoked", r.Status)
	}
}
