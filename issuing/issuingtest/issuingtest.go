// Package issuingtest gives tests an issuing service on a fresh database,
// as net/http/httptest gives them a server: the store, a random
// key-encryption key, the service, a verifier that resolves the service's
// own documents, and helpers to add an issuer and an achievement.
//
// The database is the caller's choice, so that one test runs on both:
//
//	for _, b := range storetest.Backends() {
//		t.Run(b.Name, func(t *testing.T) {
//			f := issuingtest.New(t, b.DSN(t), issuingtest.Config{})
//			f.Issuer(t, "ac-lyon", "Académie de Lyon")
//			…
//		})
//	}
package issuingtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/store"
)

// BaseURL is the base of every id the service mints, unless Config says
// otherwise.
const BaseURL = "https://badges.example.fr"

// Actor is who the helpers act as, in the audit log.
const Actor = "test"

// Config tunes the service; the zero value is fine.
type Config struct {
	BaseURL   string
	Now       func() time.Time
	SyncLimit int
}

// Fixture is an issuing service on its own database.
type Fixture struct {
	DB      *store.DB
	Service *issuing.Service
	Canon   *jsonld.Canonicalizer
	Schemas *badges.Schemas
	BaseURL string
}

// The JSON-LD loader and the schemas take a while to build and never
// change: every fixture of the test binary shares them.
var (
	sharedOnce    sync.Once
	sharedCanon   *jsonld.Canonicalizer
	sharedSchemas *badges.Schemas
	sharedErr     error
)

// New opens dsn (storetest.SQLite or storetest.Postgres give one), closed
// when the test ends, and builds an issuing service on it.
func New(t testing.TB, dsn string, c Config) *Fixture {
	t.Helper()
	sharedOnce.Do(func() {
		l, err := jsonld.NewLoader()
		if err != nil {
			sharedErr = err
			return
		}
		sharedCanon = jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
		sharedSchemas, sharedErr = badges.NewSchemas()
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek := make([]byte, 32)
	rand.Read(kek)
	sealer, err := keys.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL == "" {
		c.BaseURL = BaseURL
	}
	svc := issuing.New(issuing.Config{Store: db, Blobs: store.DiskBlobs{Dir: t.TempDir()}, Sealer: sealer, Canon: sharedCanon,
		BaseURL: c.BaseURL, Now: c.Now, SyncLimit: c.SyncLimit})
	return &Fixture{DB: db, Service: svc, Canon: sharedCanon, Schemas: sharedSchemas, BaseURL: c.BaseURL}
}

// Verifier returns a verifier that fetches issuer profiles and status
// lists from the service itself, as the public routes would serve them.
func (f *Fixture) Verifier(extractors ...badges.Extractor) *badges.Verifier {
	return badges.NewVerifier(badges.VerifierConfig{Schemas: f.Schemas, Canon: f.Canon,
		Docs: Documents{Service: f.Service, BaseURL: f.BaseURL}, Extractors: extractors})
}

// Issuer creates an issuer, with its keys.
func (f *Fixture) Issuer(t testing.TB, slug, name string) *issuing.Issuer {
	t.Helper()
	iss, err := f.Service.CreateIssuer(context.Background(), Actor, issuing.IssuerInput{Slug: slug, Name: name, URL: "https://www." + slug + ".fr"})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// Achievement creates an achievement of the issuer, aligned to al, with
// the least an achievement needs: a name, a description and criteria.
func (f *Fixture) Achievement(t testing.TB, issuer, name string, al ...badges.Alignment) *issuing.Achievement {
	t.Helper()
	var spec issuing.AchievementSpec
	spec.Name = name
	spec.Description = "A suivi " + name + "."
	spec.AchievementType = "Badge"
	spec.Criteria = &badges.Criteria{Narrative: "Avoir achevé " + name + " sur Magistère."}
	spec.Alignment = al
	a, err := f.Service.CreateAchievement(context.Background(), Actor, issuer, spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Documents answers a verifier's fetches of issuer profiles and status
// lists from the service, as the public routes would.
type Documents struct {
	Service *issuing.Service
	BaseURL string
}

// FetchDocument implements badges.DocumentFetcher.
func (d Documents) FetchDocument(ctx context.Context, url, accept string) ([]byte, error) {
	path := strings.TrimPrefix(url, d.BaseURL)
	switch {
	case strings.HasPrefix(path, "/issuers/") && !strings.Contains(path[len("/issuers/"):], "/"):
		doc, err := d.Service.ProfileDocument(ctx, strings.TrimPrefix(path, "/issuers/"))
		if err != nil {
			return nil, err
		}
		return json.Marshal(doc)
	case strings.HasPrefix(path, "/status/"):
		var slug string
		var n int
		if _, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(path, "/status/"), "/", " "), "%s %d", &slug, &n); err != nil {
			return nil, err
		}
		b, _, err := d.Service.StatusListCredential(ctx, slug, n)
		return b, err
	}
	return nil, fmt.Errorf("no document at %s", url)
}
