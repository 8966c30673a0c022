package backpack_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/bake"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

var examples = filepath.Join("..", "testdata", "examples", "1edtech-validator-ob30")

var (
	verifierOnce sync.Once
	verifier     *badges.Verifier
	verifierErr  error
	canon        *jsonld.Canonicalizer
)

// offlineVerifier is the badges verifier without a network, as the
// badges tests run it.
func offlineVerifier(t testing.TB) *badges.Verifier {
	t.Helper()
	verifierOnce.Do(func() {
		l, err := jsonld.NewLoader()
		if err != nil {
			verifierErr = err
			return
		}
		canon = jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
		schemas, err := badges.NewSchemas()
		if err != nil {
			verifierErr = err
			return
		}
		verifier = badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon})
	})
	if verifierErr != nil {
		t.Fatal(verifierErr)
	}
	return verifier
}

type env struct {
	db  *store.DB
	svc *backpack.Service
	now time.Time
}

// newEnv is a backpack on a fresh SQLite database (the store's
// conformance tests run both databases) with two learners, u1 and u2.
func newEnv(t *testing.T, f backpack.Fetcher) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, storetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, u := range []auth.User{{ID: "u1", Email: "anne@example.org"}, {ID: "u2", Email: "bruno@example.org"}} {
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{db: db, now: time.Now()}
	e.svc = backpack.New(backpack.Config{Store: db, Verifier: offlineVerifier(t), Fetcher: f, BaseURL: "https://insigne.example",
		Now: func() time.Time { return e.now }})
	return e
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The official validator's examples that verify (badges/verify_test.go:
// valid, or valid with warnings offline).
var validExamples = []string{
	"simple.json", "endorsement-valid.json", "simple-context-version.json", "simple-context-alias.json",
	"simple-did-key-method.json", "simple-eddsa-2022.json", "simple_v1.json", "simple-multiple-proofs.json",
	"simple-json.png", "simple-json.svg", "simple-jwt.png", "simple-jwt.svg", "simple-jwt_v1.png", "simple-jwt_v1.svg",
	"sd/derivedcredential.json", "extracted/simple-jwt.png.jws", "extracted/simple-jwt_v1.png.jws",
}

// Every valid example imports, verifies, and exports again as the same
// credential: the same bytes in the same container, the same signature.
func TestValidExamplesRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, name := range validExamples {
		t.Run(name, func(t *testing.T) {
			in := readExample(t, name)
			it, err := e.svc.Import(ctx, "u1", in)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if it.Verdict == string(badges.Invalid) {
				t.Fatalf("verdict %s: %s", it.Verdict, it.Report)
			}
			if it.CredentialID == "" || it.IssuerID == "" {
				t.Fatalf("no credential or issuer id: %+v", it)
			}
			format := map[string]string{".json": "json", ".png": "png", ".svg": "svg", ".jws": "jwt"}[filepath.Ext(name)]
			out, _, err := e.svc.Export(ctx, "u1", it.ID, format)
			if err != nil {
				t.Fatalf("export %s: %v", format, err)
			}
			want := bytes.TrimSpace(in)
			if format == "png" || format == "svg" {
				want = in
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("export differs from the import (%d vs %d bytes)", len(out), len(want))
			}
			// The credential inside, as a wallet reads it, is the same too.
			if format == "png" || format == "svg" {
				p1, _, _ := bake.Unbake(in)
				p2, _, err := bake.Unbake(out)
				if err != nil || !bytes.Equal(p1, p2) {
					t.Fatalf("baked payload changed: %v", err)
				}
				// And baked into the other container, it verifies again.
				other := map[string]string{"png": "svg", "svg": "png"}[format]
				img, _, err := e.svc.Export(ctx, "u1", it.ID, other)
				if err != nil {
					t.Fatalf("export %s: %v", other, err)
				}
				if p3, _, err := bake.Unbake(img); err != nil || !bytes.Equal(p1, p3) {
					t.Fatalf("rebaked payload changed: %v", err)
				}
				r, err := offlineVerifier(t).Verify(ctx, img, badges.Options{})
				if err != nil || r.Verdict == badges.Invalid {
					t.Fatalf("rebaked %s does not verify: %v %+v", other, err, r)
				}
			}
		})
	}
	_, total, err := e.svc.List(ctx, "u1", backpack.Query{})
	if err != nil || total != len(validExamples) {
		t.Fatalf("listing holds %d, want %d (%v)", total, len(validExamples), err)
	}
}

// Invalid examples are kept with their report, marked invalid; input
// with no credential is refused and stores nothing.
func TestImportInvalidAndUnusable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	it, err := e.svc.Import(ctx, "u1", readExample(t, "simple-err-type.json"))
	if err != nil {
		t.Fatal(err)
	}
	if it.Verdict != string(badges.Invalid) || !strings.Contains(string(it.Report), `"type"`) {
		t.Fatalf("tampered credential: %s %s", it.Verdict, it.Report)
	}
	for _, in := range []string{"", "hello", "{not json", "<svg xmlns='http://www.w3.org/2000/svg'/>", "\x89PNG\r\n\x1a\n", "a.b.c"} {
		if _, err := e.svc.Import(ctx, "u1", []byte(in)); err == nil {
			t.Fatalf("%q imported", in)
		} else if in := new(backpack.InputError); !errors.As(err, &in) {
			t.Fatalf("%q: %v is not an input error", in, err)
		}
	}
	if _, total, _ := e.svc.List(ctx, "u1", backpack.Query{}); total != 1 {
		t.Fatalf("%d items after refused imports, want 1", total)
	}
}

func TestLearnersAreIsolated(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	it, err := e.svc.Import(ctx, "u1", readExample(t, "simple.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, "u2", it.ID); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 reads u1's credential: %v", err)
	}
	if _, _, err := e.svc.Export(ctx, "u2", it.ID, "json"); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 exports u1's credential: %v", err)
	}
	if err := e.svc.Delete(ctx, "u2", it.ID); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 deletes u1's credential: %v", err)
	}
	if _, err := e.svc.CreateShare(ctx, "u2", backpack.ShareCredential, it.ID, time.Time{}); err == nil {
		t.Fatal("u2 shares u1's credential")
	}
	if _, err := e.svc.CreateCollection(ctx, "u2", backpack.CollectionInput{Name: "x", Items: []string{it.ID}}); err == nil {
		t.Fatal("u2 puts u1's credential in a collection")
	}
	col, err := e.svc.CreateCollection(ctx, "u1", backpack.CollectionInput{Name: "Mes badges", Items: []string{it.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateCollection(ctx, "u2", col.ID, backpack.CollectionInput{Name: "volée"}); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 changes u1's collection: %v", err)
	}
	sh, err := e.svc.CreateShare(ctx, "u1", backpack.ShareCollection, col.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeShare(ctx, "u2", sh.ID); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 revokes u1's share: %v", err)
	}
	zip, err := e.svc.PersonalData(ctx, "u2")
	if err != nil || bytes.Contains(zip, []byte(it.ID)) {
		t.Fatalf("u2's export holds u1's credential (%v)", err)
	}
	shared, err := e.svc.OpenShare(ctx, sh.ID)
	if err != nil || len(shared.Items) != 1 || shared.Items[0].ID != it.ID {
		t.Fatalf("open share: %+v %v", shared, err)
	}
}

// ob2Server is a local issuer of Open Badges 2.0 assertions.
type ob2Server struct {
	*httptest.Server
	key *rsa.PrivateKey
}

func newOB2Server(t *testing.T) *ob2Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &ob2Server{key: key}
	mux := http.NewServeMux()
	s.Server = httptest.NewServer(mux)
	base := s.URL
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	docs := map[string]any{
		"/issuer": map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "Issuer", "id": base + "/issuer",
			"name": "Réseau Canopé", "url": base, "email": "contact@example.org", "publicKey": base + "/key", "revocationList": base + "/revocations"},
		"/key": map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "CryptographicKey", "id": base + "/key",
			"owner": base + "/issuer", "publicKeyPem": pubPEM},
		"/revocations": map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "RevocationList", "id": base + "/revocations",
			"issuer": base + "/issuer", "revokedAssertions": []any{map[string]any{"id": "urn:uuid:revoked-signed", "revocationReason": "erreur"}}},
		"/badge": map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "BadgeClass", "id": base + "/badge",
			"name": "Pix+ Édu", "description": "Compétences numériques", "image": base + "/badge.png",
			"criteria": map[string]any{"narrative": "Certification"}, "issuer": base + "/issuer"},
		"/assertions/1":       s.assertion("/assertions/1", false),
		"/assertions/revoked": s.assertion("/assertions/revoked", true),
	}
	for path, doc := range docs {
		b, _ := json.Marshal(doc)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/ld+json")
			w.Write(b)
		})
	}
	mux.HandleFunc("/assertions/gone", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"revoked":true}`, http.StatusGone)
	})
	t.Cleanup(s.Close)
	return s
}

func (s *ob2Server) assertion(path string, revoked bool) map[string]any {
	a := map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": s.URL + path,
		"recipient": map[string]any{"type": "email", "hashed": false, "identity": "anne@example.org"},
		"badge":     s.URL + "/badge", "issuedOn": "2024-03-01T10:00:00Z",
		"verification": map[string]any{"type": "hosted"}}
	if revoked {
		a["revoked"] = true
		a["revocationReason"] = "attribué par erreur"
	}
	return a
}

func (s *ob2Server) signed(t *testing.T, id string) []byte {
	t.Helper()
	return s.signedFor(t, id, map[string]any{"type": "email", "hashed": false, "identity": "anne@example.org"})
}

func (s *ob2Server) signedFor(t *testing.T, id string, recipient map[string]any) []byte {
	t.Helper()
	a := map[string]any{"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": id,
		"recipient": recipient,
		"badge":     s.URL + "/badge", "issuedOn": "2024-03-01T10:00:00Z",
		"verification": map[string]any{"type": "signed", "creator": s.URL + "/key"}}
	payload, _ := json.Marshal(a)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: crypto.Signer(s.key)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := jws.CompactSerialize()
	return []byte(c)
}

// loopbackFetcher reaches the local test servers: an explicit test
// option of package fetch, never its default.
func loopbackFetcher() *fetch.Client {
	return fetch.New(fetch.Options{AllowPrivate: true, Timeout: 5 * time.Second, MaxBytes: 1 << 20, MaxRedirects: 3})
}

func TestOB2HostedAndSigned(t *testing.T) {
	srv := newOB2Server(t)
	e := newEnv(t, loopbackFetcher())
	ctx := context.Background()

	check := func(name string, in []byte, verdict, status string) *backpack.Item {
		t.Helper()
		it, err := e.svc.Import(ctx, "u1", in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if it.Verdict != verdict || it.Status != status || it.Format != backpack.FormatOB2 {
			t.Fatalf("%s: verdict %s status %q format %s, want %s %q: %s", name, it.Verdict, it.Status, it.Format, verdict, status, it.Report)
		}
		return it
	}
	it := check("hosted URL", []byte(srv.URL+"/assertions/1"), "valid", "")
	if it.Name != "Pix+ Édu" || it.IssuerName != "Réseau Canopé" || it.CredentialID != srv.URL+"/assertions/1" {
		t.Fatalf("hosted summary: %+v", it)
	}
	hosted, _ := json.Marshal(srv.assertion("/assertions/1", false))
	check("hosted JSON", hosted, "valid", "")
	// The hosted copy is the truth: a submitted copy naming someone else
	// is checked as the issuer hosts it.
	forged := srv.assertion("/assertions/1", false)
	forged["recipient"] = map[string]any{"type": "email", "hashed": false, "identity": "someone@example.org"}
	forgedJSON, _ := json.Marshal(forged)
	check("hosted JSON, edited recipient", forgedJSON, "valid", "")
	check("revoked: true", []byte(srv.URL+"/assertions/revoked"), "invalid", "revoked")
	check("410 Gone", []byte(srv.URL+"/assertions/gone"), "invalid", "revoked")
	gone := srv.assertion("/assertions/gone", false)
	goneJSON, _ := json.Marshal(gone)
	check("410 Gone from JSON", goneJSON, "invalid", "revoked")
	check("signed", srv.signed(t, "urn:uuid:ok-signed"), "valid", "")
	check("signed, on the revocation list", srv.signed(t, "urn:uuid:revoked-signed"), "invalid", "revoked")

	// Someone else's assertion is kept, with a warning; a hashed identity
	// (salted) is matched.
	for _, c := range []struct {
		recipient map[string]any
		verdict   string
	}{
		{map[string]any{"type": "email", "hashed": false, "identity": "someone@example.org"}, "warnings"},
		{map[string]any{"type": "email", "hashed": true, "salt": "sel", "identity": badges.HashIdentity("anne@example.org", "sel")}, "valid"},
		{map[string]any{"type": "email", "hashed": true, "salt": "sel", "identity": badges.HashIdentity("someone@example.org", "sel")}, "warnings"},
	} {
		it := check(fmt.Sprint("recipient ", c.recipient), srv.signedFor(t, "urn:uuid:r-"+fmt.Sprint(c.recipient["identity"]), c.recipient), c.verdict, "")
		if !strings.Contains(string(it.Report), `"name":"recipient"`) {
			t.Fatalf("no recipient check: %s", it.Report)
		}
	}

	// A tampered signature is refused outright: nothing verifiable.
	bad := srv.signed(t, "urn:uuid:x")
	bad[len(bad)-5] ^= 1
	if _, err := e.svc.Import(ctx, "u1", bad); err == nil {
		t.Fatal("tampered signed assertion imported")
	}

	// Baked OB 2.0 PNG (iTXt "openbadges") and SVG (<openbadges:assertion>).
	png := bakeOB2PNG(t, hosted)
	check("baked PNG", png, "valid", "")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="` +
		srv.URL + `/assertions/1"><![CDATA[` + string(hosted) + `]]></openbadges:assertion></svg>`)
	check("baked SVG", svg, "valid", "")

	// An assertion hosted away from its issuer's origin is not bound to it.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := srv.assertion("/x", false)
		a["id"] = "http://" + r.Host + "/x"
		json.NewEncoder(w).Encode(a)
	}))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	check("hosted elsewhere", []byte(otherURL+"/x"), "invalid", "")
}

// Revocation shows on the next scheduled verification.
func TestReverifyShowsRevocation(t *testing.T) {
	revoked := false
	var mu sync.Mutex
	srv := newOB2Server(t)
	mux := http.NewServeMux()
	flip := httptest.NewServer(mux)
	defer flip.Close()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if revoked {
			w.WriteHeader(http.StatusGone)
			return
		}
		a := srv.assertion("/a", false)
		a["id"] = flip.URL + "/a"
		json.NewEncoder(w).Encode(a)
	})
	e := newEnv(t, loopbackFetcher())
	ctx := context.Background()
	it, err := e.svc.Import(ctx, "u1", []byte(flip.URL+"/a"))
	if err != nil || it.Status != "" {
		t.Fatalf("import: %v, status %q", err, it.Status)
	}
	mu.Lock()
	revoked = true
	mu.Unlock()
	if n, _ := e.svc.Reverify(ctx, 10); n != 0 {
		t.Fatalf("re-verified %d items before the interval", n)
	}
	e.now = e.now.Add(25 * time.Hour)
	if n, err := e.svc.Reverify(ctx, 10); n != 1 || err != nil {
		t.Fatalf("re-verified %d, %v", n, err)
	}
	got, _ := e.svc.Get(ctx, "u1", it.ID)
	if got.Status != "revoked" || got.Verdict != "invalid" {
		t.Fatalf("after re-verification: %s %s (was %s)", got.Verdict, got.Status, it.Verdict)
	}
}

// Hostile URLs: private addresses (the default fetcher), endless bodies,
// redirect loops.
func TestHostileURLs(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endless":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":"`))
			chunk := bytes.Repeat([]byte("x"), 32<<10)
			for i := 0; i < 1<<12; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/loop":
			http.Redirect(w, r, "/loop2", http.StatusFound)
		case "/loop2":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()

	guarded := newEnv(t, fetch.New(fetch.Options{}))
	_, err := guarded.svc.Import(ctx, "u1", []byte(srv.URL+"/anything"))
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("loopback URL with the default fetcher: %v", err)
	}
	for _, u := range []string{"http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"} {
		if _, err := guarded.svc.Import(ctx, "u1", []byte(u)); err == nil || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("%s: %v", u, err)
		}
	}
	loop := newEnv(t, loopbackFetcher())
	if _, err := loop.svc.Import(ctx, "u1", []byte(srv.URL+"/endless")); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("endless body: %v", err)
	}
	if _, err := loop.svc.Import(ctx, "u1", []byte(srv.URL+"/loop")); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	for _, e := range []*env{guarded, loop} {
		if _, total, _ := e.svc.List(ctx, "u1", backpack.Query{}); total != 0 {
			t.Fatalf("a refused URL stored %d items", total)
		}
	}
}

func TestUpsertReplacesSameCredential(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	in := readExample(t, "simple.json")
	first, created, err := e.svc.Upsert(ctx, "u1", in)
	if err != nil || !created {
		t.Fatalf("first upsert: created %v, %v", created, err)
	}
	again, created, err := e.svc.Upsert(ctx, "u1", in)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second upsert: created %v, id %s vs %s, %v", created, again.ID, first.ID, err)
	}
	// Another learner's upsert of the same credential is theirs alone.
	other, created, err := e.svc.Upsert(ctx, "u2", in)
	if err != nil || !created || other.ID == first.ID {
		t.Fatalf("u2 upsert: %v %v", created, err)
	}
	if _, total, _ := e.svc.List(ctx, "u1", backpack.Query{}); total != 1 {
		t.Fatalf("u1 holds %d after two upserts, want 1", total)
	}
	got, _ := e.svc.Get(ctx, "u1", first.ID)
	if !bytes.Equal(got.Payload, bytes.TrimSpace(in)) {
		t.Fatal("upserted credential changed")
	}
}

func TestEmailIdentities(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.svc.AddEmail(ctx, "u1", "pas une adresse"); err == nil {
		t.Fatal("bad address accepted")
	}
	tok, err := e.svc.AddEmail(ctx, "u1", "Anne.Perso@Example.org")
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := e.svc.Identities(ctx, "u1")
	if fmt.Sprint(ids) != "[anne@example.org]" {
		t.Fatalf("identities before verification = %v", ids)
	}
	if _, err := e.svc.VerifyEmail(ctx, tok); err != nil {
		t.Fatal(err)
	}
	ids, _ = e.svc.Identities(ctx, "u1")
	if fmt.Sprint(ids) != "[anne.perso@example.org anne@example.org]" {
		t.Fatalf("identities = %v", ids)
	}
	// u2 cannot take it.
	tok2, _ := e.svc.AddEmail(ctx, "u2", "anne.perso@example.org")
	if _, err := e.svc.VerifyEmail(ctx, tok2); !errors.Is(err, backpack.ErrConflict) {
		t.Fatalf("u2 verifies u1's address: %v", err)
	}
}

// bakeOB2PNG bakes an assertion as Open Badges 2.0 did: an iTXt chunk with
// the keyword "openbadges", before IEND.
func bakeOB2PNG(t *testing.T, payload []byte) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	iend := len(raw) - 12
	data := append([]byte("openbadges\x00\x00\x00\x00\x00"), payload...)
	chunk := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	copy(chunk[4:], "iTXt")
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, raw[:iend]...)
	out = append(out, chunk...)
	return append(out, raw[iend:]...)
}

// The 1EdTech CLR 2.0 vector imports with its proof verified and exports
// unchanged (its nested credential writes types as strings, which the OB
// 3.0 schema refuses: the report says so); the
// CLR records Insigne signs use the same CLR context (embedded, never
// fetched: jsonld/contexts).
func TestCLRVectorImports(t *testing.T) {
	e := newEnv(t, nil)
	in, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "clr2-impl-guide", "signed-credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.Import(context.Background(), "u1", in)
	if err != nil {
		t.Fatal(err)
	}
	var rep badges.Report
	json.Unmarshal(it.Report, &rep)
	if c, ok := rep.Check("proof"); !ok || !c.OK {
		t.Fatalf("CLR vector proof: %s", it.Report)
	}
	out, _, err := e.svc.Export(context.Background(), "u1", it.ID, "json")
	if err != nil || !bytes.Equal(out, bytes.TrimSpace(in)) {
		t.Fatalf("CLR vector export differs: %v", err)
	}
	var doc struct {
		Context []any `json:"@context"`
	}
	json.Unmarshal(in, &doc)
	found := false
	for _, c := range doc.Context {
		found = found || c == badges.ContextCLR201
	}
	if !found {
		t.Fatalf("the vector's contexts %v do not hold %s, which Insigne's CLR records use", doc.Context, badges.ContextCLR201)
	}
}

// An issued credential past its validUntil reads as expired; a revoked
// one as revoked; both stay in the backpack.
func TestIssuedStatus(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.db.CreateIssuer(ctx, issuing.Issuer{Slug: "ac-lyon", Name: "Académie de Lyon", CreatedAt: e.now}, nil, issuing.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateAchievement(ctx, issuing.Achievement{ID: "a1", Issuer: "ac-lyon", Version: 1, Data: json.RawMessage(`{"name":"Coopérer"}`), CreatedAt: e.now}, issuing.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, idx int, signed string) issuing.Credential {
		return issuing.Credential{ID: id, Issuer: "ac-lyon", AchievementID: "a1", AchievementVersion: 1, RecipientEmail: "anne@example.org",
			StatusList: 0, StatusIndex: idx, State: issuing.StateActive, Signed: json.RawMessage(signed), CreatedAt: e.now}
	}
	if err := e.db.InsertCredentials(ctx, []issuing.Credential{
		mk("c-old", 1, `{"validUntil":"2020-01-01T00:00:00Z"}`),
		mk("c-ok", 2, `{"validUntil":"2999-01-01T00:00:00Z"}`),
		mk("c-rev", 3, `{}`),
	}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetCredentialState(ctx, "c-rev", issuing.StateRevoked, "erreur", issuing.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][2]string{"c-old": {"invalid", "expired"}, "c-ok": {"valid", ""}, "c-rev": {"invalid", "revoked"}} {
		it, err := e.svc.Get(ctx, "u1", id)
		if err != nil || it.Verdict != want[0] || it.Status != want[1] || it.Name != "Coopérer" {
			t.Errorf("%s: %+v %v, want %v", id, it, err, want)
		}
	}
	if _, total, _ := e.svc.List(ctx, "u1", backpack.Query{}); total != 3 {
		t.Fatalf("listing holds %d", total)
	}
	if _, err := e.svc.Get(ctx, "u2", "c-ok"); !errors.Is(err, backpack.ErrNotFound) {
		t.Fatalf("u2 reads Anne's issued credential: %v", err)
	}
}
