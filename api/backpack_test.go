package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/fetch"
	"github.com/insigne/insigne/interop"
	"github.com/insigne/insigne/lifecycle"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// mapTokens is an OBTokens for tests, until package oauth grants real
// ones: token → (user, scopes).
type mapTokens map[string]struct {
	user   string
	scopes []string
}

func (m mapTokens) AuthenticateOB(_ context.Context, tok string) (string, []string, error) {
	g, ok := m[tok]
	if !ok {
		return "", nil, errors.New("unknown token")
	}
	return g.user, g.scopes, nil
}

// bpServer is a test server with backpacks, an SMTP sink for their mail,
// and two learners with a session each.
type bpServer struct {
	*testServer
	BP         *backpack.Service
	Mail       *smtpSink
	Tokens     mapTokens
	Anne, Bob  string // user ids
	AnneS, BoS *session
	Ach        string // an achievement of issuer ac-lyon
	// Removed records the evidence files the lifecycle removed.
	Removed *removedBlobs
}

// removedBlobs is a lifecycle.Blobs that keeps what it was asked to
// remove.
type removedBlobs struct {
	mu  sync.Mutex
	sha []string
}

func (r *removedBlobs) Remove(_ context.Context, sha string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sha = append(r.sha, sha)
	return nil
}

func (r *removedBlobs) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sha)
}

// selfDocs lets the verifier read the test server's own documents
// (issuer profiles, status lists): loopback, for tests only.
type selfDocs struct{ base string }

func (d selfDocs) FetchDocument(ctx context.Context, u, accept string) ([]byte, error) {
	if !strings.HasPrefix(u, d.base+"/") {
		return nil, badges.ErrOffline
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Accept", accept)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d", u, res.StatusCode)
	}
	return io.ReadAll(res.Body)
}

func newBPServer(t testing.TB, dsn string, opts ...func(*backpack.Config)) *bpServer {
	t.Helper()
	b := &bpServer{Mail: newSMTPSink(t), Tokens: mapTokens{}, Removed: &removedBlobs{}}
	ts := newTestServer(t, dsn, func(base string, c *api.Config) {
		canon, schemas := shared(t)
		v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: selfDocs{base}})
		c.Verifier = v
		bc := backpack.Config{Store: c.Idempotency.(*store.DB), Verifier: v,
			Fetcher: fetch.New(fetch.Options{AllowPrivate: true, Timeout: 5 * time.Second}),
			Mailer:  &backpack.SMTP{Addr: b.Mail.Addr, From: "insigne@localhost"}, Issuing: c.Issuing,
			PlatformIssuer: "plateforme", BaseURL: base, Forget: c.Auth.ForgetUser}
		for _, o := range opts {
			o(&bc)
		}
		b.BP = backpack.New(bc)
		c.Backpack, c.OBTokens = b.BP, b.Tokens
		c.Lifecycle = lifecycle.New(lifecycle.Config{Store: c.Idempotency.(*store.DB), Blobs: b.Removed, Forget: c.Auth.ForgetUser})
	})
	b.testServer = ts
	ctx := context.Background()
	ts.createIssuer(t, "ac-lyon")
	ts.createIssuer(t, "plateforme")
	b.Ach = ts.createAchievement(t, ts.Root, "ac-lyon", "Coopérer")
	for _, u := range []struct {
		id    *string
		s     **session
		email string
	}{{&b.Anne, &b.AnneS, "anne@example.org"}, {&b.Bob, &b.BoS, "bob@example.org"}} {
		usr, err := ts.DB.CreateUser(ctx, auth.User{Email: u.email, Name: u.email, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		*u.id, *u.s = usr.ID, ts.newSession(t, usr.ID)
	}
	return b
}

func readValidator(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "examples", "1edtech-validator-ob30", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type holding struct {
	ID, Kind, CredentialID, Name, IssuerName, Verdict, Status string
	Credential                                                json.RawMessage
}

func (b *bpServer) list(t *testing.T, s *session) ([]holding, int) {
	t.Helper()
	var out struct {
		Credentials []holding
		Total       int
	}
	b.must(t, 200, "GET", "/api/v1/backpack/credentials", req{Session: s}).json(t, &out)
	return out.Credentials, out.Total
}

var linkRE = regexp.MustCompile(`https?://\S+/backpack/verify-email\?token=[0-9a-f]+`)

func TestBackpackEndToEnd(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			b := newBPServer(t, be.DSN(t))
			ctx := context.Background()
			ids := b.award(t, b.Root, b.Ach, "anne@example.org", "anne.perso@example.org", "bob@example.org")

			// Credentials to the account's address are there at once.
			items, total := b.list(t, b.AnneS)
			if total != 1 || items[0].ID != ids[0] || items[0].Kind != "issued" || items[0].Name != "Coopérer" || items[0].Verdict != "valid" {
				t.Fatalf("Anne's backpack: %+v (%d)", items, total)
			}
			// A further address joins once its link is followed.
			b.must(t, 202, "POST", "/api/v1/backpack/emails", req{Session: b.AnneS, JSON: map[string]string{"email": "Anne.Perso@example.org"}})
			mails := b.Mail.To("anne.perso@example.org")
			if len(mails) != 1 {
				t.Fatalf("%d verification mails", len(mails))
			}
			link := linkRE.FindString(strings.ReplaceAll(mails[0].Data, "=\r\n", ""))
			if link == "" {
				t.Fatalf("no link in %q", mails[0].Data)
			}
			if _, total := b.list(t, b.AnneS); total != 1 {
				t.Fatal("an unverified address already counts")
			}
			page := b.must(t, 200, "GET", strings.TrimPrefix(link, b.URL), req{})
			if !strings.Contains(string(page.Body), "anne.perso@example.org") {
				t.Fatalf("confirmation page: %s", page)
			}
			b.must(t, 404, "GET", strings.TrimPrefix(link, b.URL), req{}) // used once
			if _, total := b.list(t, b.AnneS); total != 2 {
				t.Fatalf("after verification Anne holds %d, want 2", total)
			}

			// Import an outside credential (raw body).
			res := b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json"), ContentType: "application/json"})
			var imp holding
			res.json(t, &imp)
			if imp.Kind != "imported" || imp.Verdict == "invalid" {
				t.Fatalf("import: %s", res)
			}
			exp := b.must(t, 200, "GET", "/api/v1/backpack/credentials/"+imp.ID+"/export?format=json", req{Session: b.AnneS})
			if !bytes.Equal(exp.Body, bytes.TrimSpace(readValidator(t, "simple.json"))) {
				t.Fatal("exported JSON differs from the import")
			}
			// Issued: baked PNG and VC-JWT exports verify.
			for _, f := range []string{"png", "svg", "jwt", "json"} {
				out := b.must(t, 200, "GET", "/api/v1/backpack/credentials/"+ids[0]+"/export?format="+f, req{Session: b.AnneS})
				rep := b.must(t, 200, "POST", "/api/v1/verify", req{Body: out.Body, ContentType: "application/octet-stream"})
				if v, _ := rep.obj(t)["verdict"].(string); v == "invalid" {
					t.Fatalf("exported %s does not verify: %s", f, rep)
				}
			}

			// A collection, shared.
			var col struct{ ID string }
			b.must(t, 201, "POST", "/api/v1/backpack/collections", req{Session: b.AnneS,
				JSON: map[string]any{"name": "Travail en équipe", "items": []string{ids[0], imp.ID}}}).json(t, &col)
			var sh struct {
				ID, URL, Embed, LinkedInURL string
				Views                       int
			}
			b.must(t, 201, "POST", "/api/v1/backpack/shares", req{Session: b.AnneS, JSON: map[string]any{"kind": "credential", "id": ids[0]}}).json(t, &sh)
			if !strings.HasPrefix(sh.LinkedInURL, "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&") ||
				!strings.Contains(sh.LinkedInURL, "name=Coop%C3%A9rer") || !strings.Contains(sh.LinkedInURL, "certId=urn%3Auuid%3A"+ids[0]) ||
				!strings.Contains(sh.LinkedInURL, "organizationName=Acad%C3%A9mie+ac-lyon") || !strings.Contains(sh.LinkedInURL, "issueYear=") {
				t.Fatalf("LinkedIn URL %s", sh.LinkedInURL)
			}
			if !strings.Contains(sh.Embed, `<iframe src="`+sh.URL+`?embed=1"`) {
				t.Fatalf("embed %s", sh.Embed)
			}
			pub := b.must(t, 200, "GET", strings.TrimPrefix(sh.URL, b.URL), req{})
			body := string(pub.Body)
			for _, want := range []string{`<html lang="fr">`, `property="og:title"`, `alt="Badge « Coopérer »"`, "Académie ac-lyon", "Authentique et valide", "Avoir suivi le module Coopérer."} {
				if !strings.Contains(body, want) {
					t.Errorf("share page lacks %q", want)
				}
			}
			if pub.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("a share page (not embedded) may be framed")
			}
			b.must(t, 200, "GET", strings.TrimPrefix(sh.URL, b.URL)+"?embed=1", req{})
			var colShare struct{ ID, URL string }
			b.must(t, 201, "POST", "/api/v1/backpack/shares", req{Session: b.AnneS, JSON: map[string]any{"kind": "collection", "id": col.ID,
				"expiresAt": time.Now().Add(time.Hour)}}).json(t, &colShare)
			colPage := string(b.must(t, 200, "GET", strings.TrimPrefix(colShare.URL, b.URL), req{}).Body)
			if !strings.Contains(colPage, "Travail en équipe") || strings.Count(colPage, `<article class="share-card">`) != 2 {
				t.Fatalf("collection page: %s", colPage)
			}
			var shares struct {
				Shares []struct {
					ID    string
					Views int
				}
			}
			b.must(t, 200, "GET", "/api/v1/backpack/shares", req{Session: b.AnneS}).json(t, &shares)
			if len(shares.Shares) != 2 || shares.Shares[0].Views != 2 {
				t.Fatalf("shares: %+v", shares)
			}
			b.must(t, 204, "DELETE", "/api/v1/backpack/shares/"+sh.ID, req{Session: b.AnneS})
			b.must(t, 404, "GET", strings.TrimPrefix(sh.URL, b.URL), req{})

			// Revocation shows in the backpack.
			b.must(t, 200, "POST", "/api/v1/credentials/"+ids[0]+"/revoke", req{Bearer: b.Root, JSON: map[string]string{"reason": "erreur"}})
			var got holding
			b.must(t, 200, "GET", "/api/v1/backpack/credentials/"+ids[0], req{Session: b.AnneS}).json(t, &got)
			if got.Status != "revoked" || got.Verdict != "invalid" || len(got.Credential) == 0 {
				t.Fatalf("after revocation: %+v", got)
			}

			// Notifications: one e-mail per landed credential, once.
			n, err := b.BP.Notify(ctx)
			if err != nil || n != 3 {
				t.Fatalf("notified %d, %v", n, err)
			}
			if n, _ := b.BP.Notify(ctx); n != 0 {
				t.Fatalf("notified again %d", n)
			}
			if m := b.Mail.To("bob@example.org"); len(m) != 1 || !strings.Contains(m[0].Data, "Coop") {
				t.Fatalf("Bob's notification: %+v", m)
			}

			// Personal data export.
			zb := b.must(t, 200, "GET", "/api/v1/backpack/export", req{Session: b.AnneS})
			zr, err := zip.NewReader(bytes.NewReader(zb.Body), int64(len(zb.Body)))
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, f := range zr.File {
				names[f.Name] = true
			}
			for _, want := range []string{"account.json", "collections.json", "shares.json", "credentials/issued/" + ids[0] + "/credential.json",
				"credentials/issued/" + ids[1] + "/credential.json", "credentials/imported/" + imp.ID + "/report.json"} {
				if !names[want] {
					t.Errorf("the archive lacks %s (has %v)", want, names)
				}
			}

			// Erasure: personal data goes, the issued credential stays verifiable.
			b.must(t, 400, "POST", "/api/v1/backpack/erase", req{Session: b.AnneS, JSON: map[string]bool{"confirm": false}})
			b.must(t, 204, "POST", "/api/v1/backpack/erase", req{Session: b.AnneS, JSON: map[string]bool{"confirm": true}})
			b.must(t, 401, "GET", "/api/v1/backpack/credentials", req{Session: b.AnneS})
			c, err := b.Iss.Credential(ctx, ids[1])
			if err != nil || c.RecipientEmail != "" || c.RecipientName != "" || len(c.Signed) == 0 {
				t.Fatalf("issued credential after erasure: %+v %v", c, err)
			}
			doc := b.must(t, 200, "GET", "/credentials/"+ids[1], req{Header: map[string]string{"Accept": "application/vc+ld+json"}})
			rep := b.must(t, 200, "POST", "/api/v1/verify", req{Body: doc.Body, ContentType: "application/json"})
			if v, _ := rep.obj(t)["verdict"].(string); v != "valid" {
				t.Fatalf("after erasure the credential verifies %s", rep)
			}
		})
	}
}

// A learner can never read or change another learner's backpack, share
// links, collections or exports; tokens and strangers get nothing.
func TestBackpackIsolation(t *testing.T) {
	b := newBPServer(t, storetest.SQLite(t))
	ids := b.award(t, b.Root, b.Ach, "anne@example.org")
	var imp holding
	b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json")}).json(t, &imp)
	var col struct{ ID string }
	b.must(t, 201, "POST", "/api/v1/backpack/collections", req{Session: b.AnneS, JSON: map[string]any{"name": "A", "items": []string{ids[0]}}}).json(t, &col)
	var sh struct{ ID string }
	b.must(t, 201, "POST", "/api/v1/backpack/shares", req{Session: b.AnneS, JSON: map[string]any{"kind": "credential", "id": ids[0]}}).json(t, &sh)

	for _, id := range []string{ids[0], imp.ID} {
		wantError(t, "Bob reads", b.do(t, "GET", "/api/v1/backpack/credentials/"+id, req{Session: b.BoS}), 404, "not_found", "-")
		wantError(t, "Bob exports", b.do(t, "GET", "/api/v1/backpack/credentials/"+id+"/export?format=json", req{Session: b.BoS}), 404, "not_found", "-")
		wantError(t, "Bob deletes", b.do(t, "DELETE", "/api/v1/backpack/credentials/"+id, req{Session: b.BoS}), 404, "not_found", "-")
		wantError(t, "Bob re-verifies", b.do(t, "POST", "/api/v1/backpack/credentials/"+id+"/verify", req{Session: b.BoS}), 404, "not_found", "-")
		wantError(t, "Bob shares", b.do(t, "POST", "/api/v1/backpack/shares", req{Session: b.BoS, JSON: map[string]any{"kind": "credential", "id": id}}), 400, "invalid", "id")
		wantError(t, "Bob collects", b.do(t, "POST", "/api/v1/backpack/collections", req{Session: b.BoS, JSON: map[string]any{"name": "x", "items": []string{id}}}), 400, "invalid", "items[0]")
		wantError(t, "Bob's CLR", b.do(t, "POST", "/api/v1/backpack/clr", req{Session: b.BoS, JSON: map[string]any{"credentials": []string{id}}}), 400, "invalid", "credentials[0]")
	}
	wantError(t, "Bob reads the collection", b.do(t, "GET", "/api/v1/backpack/collections/"+col.ID, req{Session: b.BoS}), 404, "not_found", "-")
	wantError(t, "Bob changes the collection", b.do(t, "PUT", "/api/v1/backpack/collections/"+col.ID, req{Session: b.BoS, JSON: map[string]any{"name": "volée"}}), 404, "not_found", "-")
	wantError(t, "Bob deletes the collection", b.do(t, "DELETE", "/api/v1/backpack/collections/"+col.ID, req{Session: b.BoS}), 404, "not_found", "-")
	wantError(t, "Bob shares the collection", b.do(t, "POST", "/api/v1/backpack/shares", req{Session: b.BoS, JSON: map[string]any{"kind": "collection", "id": col.ID}}), 400, "invalid", "id")
	wantError(t, "Bob revokes the share", b.do(t, "DELETE", "/api/v1/backpack/shares/"+sh.ID, req{Session: b.BoS}), 404, "not_found", "-")
	if _, total := b.list(t, b.BoS); total != 0 {
		t.Fatalf("Bob's backpack holds %d", total)
	}
	var lists struct {
		Collections []any
		Shares      []any
	}
	b.must(t, 200, "GET", "/api/v1/backpack/collections", req{Session: b.BoS}).json(t, &lists)
	b.must(t, 200, "GET", "/api/v1/backpack/shares", req{Session: b.BoS}).json(t, &lists)
	if len(lists.Collections)+len(lists.Shares) != 0 {
		t.Fatalf("Bob sees %+v", lists)
	}
	zb := b.must(t, 200, "GET", "/api/v1/backpack/export", req{Session: b.BoS})
	zr, _ := zip.NewReader(bytes.NewReader(zb.Body), int64(len(zb.Body)))
	for _, f := range zr.File {
		if strings.Contains(f.Name, ids[0]) || strings.Contains(f.Name, imp.ID) {
			t.Fatalf("Bob's archive holds %s", f.Name)
		}
	}
	// Bob cannot claim Anne's address.
	b.must(t, 202, "POST", "/api/v1/backpack/emails", req{Session: b.BoS, JSON: map[string]string{"email": "anne@example.org"}})
	link := linkRE.FindString(strings.ReplaceAll(b.Mail.To("anne@example.org")[0].Data, "=\r\n", ""))
	b.must(t, 409, "GET", strings.TrimPrefix(link, b.URL), req{})

	// Strangers, tokens, forged CSRF.
	wantError(t, "anonymous", b.do(t, "GET", "/api/v1/backpack/credentials", req{}), 401, "unauthenticated", "-")
	wantError(t, "admin token", b.do(t, "GET", "/api/v1/backpack/credentials", req{Bearer: b.Root}), 403, "forbidden", "-")
	tok, _ := b.createToken(t, b.Root, "ac-lyon", "lms", "admin", auth.ScopeRead)
	wantError(t, "API token", b.do(t, "GET", "/api/v1/backpack/credentials", req{Bearer: tok}), 403, "forbidden", "-")
	noCSRF := &session{Cookie: b.AnneS.Cookie}
	wantError(t, "no CSRF", b.do(t, "DELETE", "/api/v1/backpack/credentials/"+imp.ID, req{Session: noCSRF}), 403, "csrf", "-")
	wantError(t, "no CSRF erase", b.do(t, "POST", "/api/v1/backpack/erase", req{Session: noCSRF, JSON: map[string]bool{"confirm": true}}), 403, "csrf", "-")
	b.must(t, 200, "GET", "/api/v1/backpack/credentials/"+imp.ID, req{Session: b.AnneS})
}

// The CLR record verifies with Insigne and with the Digital Bazaar stack.
func TestBackpackCLR(t *testing.T) {
	node := interop.Node(t)
	b := newBPServer(t, storetest.SQLite(t))
	ids := b.award(t, b.Root, b.Ach, "anne@example.org")
	other := b.createAchievement(t, b.Root, "ac-lyon", "Différencier")
	ids = append(ids, b.award(t, b.Root, other, "anne@example.org")...)
	// An outside credential with an embedded proof goes in too; a VC-JWT
	// cannot (a CLR embeds JSON credentials).
	var imp, jws holding
	b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "simple.json")}).json(t, &imp)
	b.must(t, 201, "POST", "/api/v1/backpack/credentials", req{Session: b.AnneS, Body: readValidator(t, "extracted/simple-jwt.png.jws"), ContentType: "text/plain"}).json(t, &jws)

	whole := b.must(t, 200, "POST", "/api/v1/backpack/clr", req{Session: b.AnneS})
	var doc struct {
		Type              []string
		Partial           *bool
		Issuer            struct{ ID string }
		CredentialSubject struct {
			VerifiableCredential []json.RawMessage
			Achievement          []struct{ ID, Name string }
		}
	}
	if err := json.Unmarshal(whole.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.CredentialSubject.VerifiableCredential) != 3 || len(doc.CredentialSubject.Achievement) != 3 || doc.Issuer.ID != b.URL+"/issuers/plateforme" {
		t.Fatalf("CLR: %d credentials, %d achievements, issuer %s", len(doc.CredentialSubject.VerifiableCredential), len(doc.CredentialSubject.Achievement), doc.Issuer.ID)
	}
	for i, vc := range doc.CredentialSubject.VerifiableCredential {
		if i < 2 {
			continue
		}
		if !bytes.Equal(vc, bytes.TrimSpace(readValidator(t, "simple.json"))) && !json.Valid(vc) {
			t.Fatalf("embedded credential %d altered", i)
		}
	}
	rep := b.must(t, 200, "POST", "/api/v1/verify", req{Body: whole.Body, ContentType: "application/json"})
	var r badges.Report
	rep.json(t, &r)
	if r.Verdict == badges.Invalid || r.Summary == nil || !strings.Contains(strings.Join(r.Summary.Types, " "), "ClrCredential") {
		t.Fatalf("Insigne: %s", rep.Body)
	}
	// The CLR's own proof and issuer are Insigne's: confirmed, not a warning.
	for _, name := range []string{"proof", "issuer"} {
		if c, ok := r.Check(name); !ok || !c.OK {
			t.Fatalf("check %s: %+v (%s)", name, c, rep)
		}
	}
	if ok, detail := node.WithBaseURL(b.URL).VerifyDI(t, whole.Body); !ok {
		t.Fatalf("Digital Bazaar stack: %s", detail)
	}
	// A selection is partial.
	sel := b.must(t, 200, "POST", "/api/v1/backpack/clr", req{Session: b.AnneS, JSON: map[string]any{"credentials": []string{ids[1]}}})
	json.Unmarshal(sel.Body, &doc)
	if len(doc.CredentialSubject.VerifiableCredential) != 1 || doc.Partial == nil || !*doc.Partial {
		t.Fatalf("selection: %d credentials, partial %v", len(doc.CredentialSubject.VerifiableCredential), doc.Partial)
	}
	if ok, detail := node.WithBaseURL(b.URL).VerifyDI(t, sel.Body); !ok {
		t.Fatalf("Digital Bazaar stack, selection: %s", detail)
	}
	wantError(t, "JWS in a CLR", b.do(t, "POST", "/api/v1/backpack/clr", req{Session: b.AnneS, JSON: map[string]any{"credentials": []string{jws.ID}}}), 400, "invalid", "credentials[0]")
	wantError(t, "empty backpack", b.do(t, "POST", "/api/v1/backpack/clr", req{Session: b.BoS}), 400, "invalid", "credentials")
}

// The OB 3.0 resource endpoints, with access tokens from a map until the
// authorization server (package oauth) lands.
func TestOBResourceEndpoints(t *testing.T) {
	b := newBPServer(t, storetest.SQLite(t))
	all := []string{api.ScopeCredentialReadonly, api.ScopeCredentialUpsert, api.ScopeProfileReadonly, api.ScopeProfileUpdate}
	b.Tokens["anne-all"] = struct {
		user   string
		scopes []string
	}{b.Anne, all}
	b.Tokens["anne-read"] = struct {
		user   string
		scopes []string
	}{b.Anne, []string{api.ScopeCredentialReadonly}}
	b.award(t, b.Root, b.Ach, "anne@example.org", "anne@example.org", "anne@example.org")

	type page struct {
		Credential        []json.RawMessage
		CompactJwsStrings []string
	}
	get := func(q string, tok string) (*resp, page) {
		r := b.do(t, "GET", "/ims/ob/v3p0/credentials"+q, req{Bearer: tok})
		var p page
		if r.Status == 200 {
			r.json(t, &p)
		}
		return r, p
	}
	r, p := get("?limit=2", "anne-read")
	if r.Status != 200 || len(p.Credential) != 2 || r.Header.Get("X-Total-Count") != "3" {
		t.Fatalf("page 1: %s (%s)", r, r.Header.Get("X-Total-Count"))
	}
	link := r.Header.Get("Link")
	for _, want := range []string{`offset=2>; rel="next"`, `rel="last"`, `offset=0>; rel="first"`} {
		if !strings.Contains(link, want) {
			t.Fatalf("Link %q lacks %s", link, want)
		}
	}
	if strings.Contains(link, `rel="prev"`) {
		t.Fatalf("first page with prev: %s", link)
	}
	r, p2 := get("?limit=2&offset=2", "anne-read")
	if len(p2.Credential) != 1 || strings.Contains(r.Header.Get("Link"), `rel="next"`) || !strings.Contains(r.Header.Get("Link"), `rel="prev"`) {
		t.Fatalf("page 2: %s %s", r, r.Header.Get("Link"))
	}

	// Upsert: 201, then 200 for the same credential; nothing lost.
	in := readValidator(t, "simple.json")
	up := b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-all", Body: in, ContentType: "application/json"})
	if up.Status != 201 || !bytes.Equal(up.Body, bytes.TrimSpace(in)) {
		t.Fatalf("upsert: %s", up)
	}
	if again := b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-all", Body: in, ContentType: "application/vc+ld+json"}); again.Status != 200 {
		t.Fatalf("upsert again: %s", again)
	}
	jwsIn := readValidator(t, "extracted/simple-jwt.png.jws")
	if up := b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-all", Body: jwsIn, ContentType: "text/plain"}); up.Status != 201 || string(up.Body) != strings.TrimSpace(string(jwsIn)) {
		t.Fatalf("upsert JWS: %s", up)
	}
	r, p = get("", "anne-read")
	if r.Header.Get("X-Total-Count") != "5" || len(p.Credential) != 4 || len(p.CompactJwsStrings) != 1 || p.CompactJwsStrings[0] != strings.TrimSpace(string(jwsIn)) {
		t.Fatalf("after upserts: %s", r)
	}
	found := false
	for _, c := range p.Credential {
		found = found || bytes.Equal(c, bytes.TrimSpace(in))
	}
	if !found {
		t.Fatal("the upserted credential does not come back unchanged")
	}
	// since
	if r, p := get("?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "anne-read"); r.Header.Get("X-Total-Count") != "0" || len(p.Credential) != 0 {
		t.Fatalf("since the future: %s", r)
	}

	imsx := func(what string, r *resp, status int, minor string) {
		t.Helper()
		var e struct {
			Major     string `json:"imsx_codeMajor"`
			Severity  string `json:"imsx_severity"`
			CodeMinor struct {
				Fields []struct {
					Value string `json:"imsx_codeMinorFieldValue"`
				} `json:"imsx_codeMinorField"`
			} `json:"imsx_codeMinor"`
		}
		if r.Status != status || json.Unmarshal(r.Body, &e) != nil || e.Major != "failure" || len(e.CodeMinor.Fields) != 1 || e.CodeMinor.Fields[0].Value != minor {
			t.Errorf("%s: %s, want %d imsx %s", what, r, status, minor)
		}
	}
	imsx("no token", b.do(t, "GET", "/ims/ob/v3p0/credentials", req{}), 401, "unauthorizedrequest")
	imsx("unknown token", b.do(t, "GET", "/ims/ob/v3p0/credentials", req{Bearer: "nope"}), 401, "unauthorizedrequest")
	imsx("session is no token", b.do(t, "GET", "/ims/ob/v3p0/credentials", req{Session: b.AnneS}), 401, "unauthorizedrequest")
	imsx("missing scope", b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-read", Body: in}), 403, "forbidden")
	imsx("missing profile scope", b.do(t, "GET", "/ims/ob/v3p0/profile", req{Bearer: "anne-read"}), 403, "forbidden")
	imsx("bad limit", b.do(t, "GET", "/ims/ob/v3p0/credentials?limit=x", req{Bearer: "anne-read"}), 400, "invalid_query_parameter")
	imsx("bad since", b.do(t, "GET", "/ims/ob/v3p0/credentials?since=yesterday", req{Bearer: "anne-read"}), 400, "invalid_query_parameter")
	imsx("not a credential", b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-all", Body: []byte(`{"hello":1}`), ContentType: "application/json"}), 400, "invalid_data")
	imsx("garbage", b.do(t, "POST", "/ims/ob/v3p0/credentials", req{Bearer: "anne-all", Body: []byte("garbage"), ContentType: "text/plain"}), 400, "invalid_data")
	if _, total := b.list(t, b.AnneS); total != 5 {
		t.Fatalf("refused upserts changed the backpack: %d", total)
	}
	// Bob's token never sees Anne's credentials.
	b.Tokens["bob"] = struct {
		user   string
		scopes []string
	}{b.Bob, all}
	if r, _ := get("", "bob"); r.Header.Get("X-Total-Count") != "0" {
		t.Fatalf("Bob sees %s", r.Header.Get("X-Total-Count"))
	}

	// Profile.
	pr := b.must(t, 200, "GET", "/ims/ob/v3p0/profile", req{Bearer: "anne-all"})
	if !strings.Contains(string(pr.Body), `"Profile"`) || !strings.Contains(string(pr.Body), "anne@example.org") {
		t.Fatalf("profile: %s", pr)
	}
	put := b.do(t, "PUT", "/ims/ob/v3p0/profile", req{Bearer: "anne-all", JSON: map[string]any{"type": []string{"Profile"}, "name": "Anne Martin", "id": "https://evil.example/x"}})
	if put.Status != 200 || !strings.Contains(string(put.Body), "Anne Martin") || strings.Contains(string(put.Body), "evil") {
		t.Fatalf("put profile: %s", put)
	}
	imsx("profile without type", b.do(t, "PUT", "/ims/ob/v3p0/profile", req{Bearer: "anne-all", JSON: map[string]any{"name": "x"}}), 400, "invalid_data")
	if pr := b.must(t, 200, "GET", "/ims/ob/v3p0/profile", req{Bearer: "anne-all"}); !strings.Contains(string(pr.Body), "Anne Martin") {
		t.Fatalf("profile after put: %s", pr)
	}
	if pr := b.must(t, 200, "GET", "/ims/ob/v3p0/profile", req{Bearer: "bob"}); strings.Contains(string(pr.Body), "Anne") {
		t.Fatalf("Bob reads Anne's profile: %s", pr)
	}
}
