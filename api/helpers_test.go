package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/issuing"
	"github.com/insigne/insigne/jsonld"
	"github.com/insigne/insigne/keys"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// testServer is the whole service (real store, issuing, auth and job
// worker) behind an httptest.Server.
type testServer struct {
	URL  string
	DB   *store.DB
	Iss  *issuing.Service
	Auth *auth.Service
	Comp *completion.Service
	// Root is the INSIGNE_ADMIN_TOKEN of this instance.
	Root string
	// Log holds what the service logged, for failure messages.
	Log *lockedBuffer
}

// lockedBuffer is a log sink safe for the handlers' goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// shared JSON-LD and schema machinery: building them is the slow part of a
// server, and they are safe for concurrent use.
var (
	sharedOnce   sync.Once
	sharedCanon  *jsonld.Canonicalizer
	sharedSchema *badges.Schemas
	sharedErr    error
)

func shared(t testing.TB) (*jsonld.Canonicalizer, *badges.Schemas) {
	t.Helper()
	sharedOnce.Do(func() {
		l, err := jsonld.NewLoader()
		if err != nil {
			sharedErr = err
			return
		}
		// As cmd/insigne newCanonicalizer.
		sharedCanon = jsonld.NewCanonicalizer(l, jsonld.DefaultLimits)
		sharedSchema, sharedErr = badges.NewSchemas()
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCanon, sharedSchema
}

// newTestServer starts the service on the database at dsn, wired as
// cmd/insigne serve wires it, with a random root token and KEK.
func newTestServer(t testing.TB, dsn string, opts ...func(base string, c *api.Config)) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, dsn)
	if err != nil {
		cancel()
		t.Fatalf("store.Open: %v", err)
	}
	kek := make([]byte, keys.KEKSize)
	rand.Read(kek)
	sealer, err := keys.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	canon, schemas := shared(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// The base URL is the server's own, known only once it listens.
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	svc := issuing.New(issuing.Config{Store: db, Blobs: store.DiskBlobs{Dir: t.TempDir()}, Sealer: sealer,
		Canon: canon, BaseURL: srv.URL, Log: log})
	root := "root-" + rand.Text()
	// With the session cache, as serve runs, and long enough that a change
	// that forgets to drop it shows.
	authSvc := auth.NewService(db, time.Now, auth.WithRootToken(root), auth.WithSessionCache(time.Minute))
	verifier := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon})
	comp := completion.New(completion.Config{Store: db, Issuing: svc, Log: log})
	cfg := api.Config{Verifier: verifier, Issuing: svc, Auth: authSvc, Idempotency: db, Ready: db.Ping, DBStats: db.Stats, Log: log, OAuth: oauth.New(oauth.Config{Store: db}),
		Completions: comp, Statements: db, Recorder: comp}
	for _, o := range opts {
		o(srv.URL, &cfg)
	}
	handler = api.New(cfg)

	jobsDone := make(chan struct{})
	go func() { svc.RunJobs(ctx); close(jobsDone) }()
	awardsDone := make(chan struct{})
	go func() { comp.RunAwards(ctx); close(awardsDone) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-jobsDone
		<-awardsDone
		db.Close()
		if t.Failed() {
			if l := logs.String(); l != "" {
				t.Logf("service log:\n%s", l)
			}
		}
	})
	return &testServer{URL: srv.URL, DB: db, Iss: svc, Auth: authSvc, Comp: comp, Root: root, Log: logs}
}

// eachBackend runs f against a fresh server on SQLite, and on PostgreSQL
// when INSIGNE_TEST_DATABASE_URL is set.
func eachBackend(t *testing.T, f func(t *testing.T, ts *testServer)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, newTestServer(t, b.DSN(t)))
		})
	}
}

// session is a signed-in browser: its cookie, and the CSRF secret of the
// session when the test knows it.
type session struct {
	Cookie string
	CSRF   string // the session's secret; "" to send no X-CSRF-Token
}

// req describes one request; the zero value is an anonymous GET.
type req struct {
	Bearer  string
	Session *session
	// JSON, when not nil, is marshalled as the body (application/json).
	JSON any
	// Body and ContentType, when JSON is nil.
	Body        []byte
	ContentType string
	Header      map[string]string
}

// resp is an answer, read whole.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiError is the body of every API error.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (r *resp) String() string {
	b := r.Body
	if len(b) > 600 {
		b = append(b[:600:600], "…"...)
	}
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(b))
}

// json decodes the body into v, failing the test if it is not JSON.
func (r *resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r)
	}
}

func (r *resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// privateKeyRE finds what would betray a private key in an answer: the d
// member of a JWK, or a Multikey secret.
var privateKeyRE = regexp.MustCompile(`"d"\s*:|secretKeyMultibase|privateKeyMultibase`)

// do sends a request and reads the answer. Every answer is checked for a
// private key and for a 500.
func (ts *testServer) do(t testing.TB, method, path string, r req) *resp {
	t.Helper()
	var body io.Reader
	ct := r.ContentType
	switch {
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	case r.Body != nil:
		body = bytes.NewReader(r.Body)
	}
	hr, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		hr.Header.Set("Content-Type", ct)
	}
	if r.Bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.Bearer)
	}
	if r.Session != nil {
		hr.AddCookie(&http.Cookie{Name: "insigne_session", Value: r.Session.Cookie})
		if r.Session.CSRF != "" {
			hr.Header.Set("X-CSRF-Token", auth.CSRFToken(r.Session.CSRF))
		}
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	res, err := noRedirects.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	out := &resp{Status: res.StatusCode, Header: res.Header, Body: b}
	if privateKeyRE.Match(b) {
		t.Errorf("%s %s: the answer holds a private key: %s", method, path, out)
	}
	if res.StatusCode >= 500 {
		t.Errorf("%s %s: %s", method, path, out)
	}
	return out
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// must sends a request that has to answer want, and returns the answer.
func (ts *testServer) must(t testing.TB, want int, method, path string, r req) *resp {
	t.Helper()
	res := ts.do(t, method, path, r)
	if res.Status != want {
		t.Fatalf("%s %s: %s, want %d", method, path, res, want)
	}
	return res
}

// wantError checks that an answer is the API error status/code, naming
// field when field is not "-".
func wantError(t testing.TB, what string, res *resp, status int, code, field string) {
	t.Helper()
	if res.Status != status {
		t.Errorf("%s: %s, want %d %s", what, res, status, code)
		return
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", what, ct)
	}
	var e apiError
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Errorf("%s: error body is not JSON: %s", what, res)
		return
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: error %+v, want code %q and a message", what, e.Error, code)
	}
	if field != "-" && e.Error.Field != field {
		t.Errorf("%s: error field %q (message %q), want %q", what, e.Error.Field, e.Error.Message, field)
	}
}

// Resources, made through the API.

func (ts *testServer) createIssuer(t testing.TB, slug string) {
	t.Helper()
	ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers", req{Bearer: ts.Root,
		JSON: map[string]string{"slug": slug, "name": "Académie " + slug, "url": "https://" + slug + ".example.org"}})
}

func achievementSpec(name string) map[string]any {
	return map[string]any{"name": name, "description": "A suivi le module " + name + ".", "achievementType": "Badge",
		"criteria": map[string]string{"narrative": "Avoir suivi le module " + name + "."}}
}

// createAchievement creates an achievement of issuer slug and returns its
// uuid.
func (ts *testServer) createAchievement(t testing.TB, bearer, slug, name string) string {
	t.Helper()
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers/"+slug+"/achievements", req{Bearer: bearer, JSON: achievementSpec(name)})
	id, _ := res.obj(t)["id"].(string)
	uuid := strings.TrimPrefix(id, ts.URL+"/achievements/")
	if !issuing.IsUUID(uuid) {
		t.Fatalf("achievement id %q is not %s/achievements/{uuid}", id, ts.URL)
	}
	return uuid
}

// createToken creates an API token for issuer slug and returns the plain
// token and its id.
func (ts *testServer) createToken(t testing.TB, bearer, slug, name, role string, scopes ...string) (plain, id string) {
	t.Helper()
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers/"+slug+"/tokens", req{Bearer: bearer,
		JSON: map[string]any{"name": name, "role": role, "scopes": scopes}})
	var out struct{ ID, Token string }
	res.json(t, &out)
	if !strings.HasPrefix(out.Token, auth.APITokenPrefix) || out.ID == "" {
		t.Fatalf("token answer %s", res)
	}
	return out.Token, out.ID
}

// addMember gives email a role on issuer slug (creating the account, with
// password if not empty) and returns the user id.
func (ts *testServer) addMember(t testing.TB, bearer, slug, email, role, password string) string {
	t.Helper()
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/issuers/"+slug+"/members", req{Bearer: bearer,
		JSON: map[string]string{"email": email, "name": "Nom de " + email, "role": role, "password": password}})
	u, _ := res.obj(t)["user"].(string)
	if u == "" {
		t.Fatalf("member answer %s", res)
	}
	return u
}

// award awards achievement to each e-mail address and returns the uuids
// of the credentials.
func (ts *testServer) award(t testing.TB, bearer, achievement string, emails ...string) []string {
	t.Helper()
	rs := make([]map[string]string, len(emails))
	for i, e := range emails {
		rs[i] = map[string]string{"email": e, "name": "Nom " + e}
	}
	res := ts.must(t, http.StatusCreated, "POST", "/api/v1/awards", req{Bearer: bearer,
		JSON: map[string]any{"achievement": achievement, "recipients": rs}})
	var out struct{ Credentials []struct{ ID, URL string } }
	res.json(t, &out)
	if len(out.Credentials) != len(emails) {
		t.Fatalf("award answer %s, want %d credentials", res, len(emails))
	}
	ids := make([]string, len(emails))
	for i, c := range out.Credentials {
		ids[i] = strings.TrimPrefix(c.ID, "urn:uuid:")
		if !issuing.IsUUID(ids[i]) || c.URL != ts.URL+"/credentials/"+ids[i] {
			t.Fatalf("award answer %s: bad credential %+v", res, c)
		}
	}
	return ids
}

// credentialCount is the total the API gives for an achievement.
func (ts *testServer) credentialCount(t testing.TB, achievement string) int {
	t.Helper()
	res := ts.must(t, http.StatusOK, "GET", "/api/v1/credentials?achievement="+achievement, req{Bearer: ts.Root})
	var out struct{ Total int }
	res.json(t, &out)
	return out.Total
}

type jobJSON struct {
	ID     string
	State  string
	Total  int
	Done   int
	Failed int
	Errors []issuing.RowError
}

// waitJob polls a job until it is done or failed.
func (ts *testServer) waitJob(t testing.TB, bearer, jobURL string) jobJSON {
	t.Helper()
	path := strings.TrimPrefix(jobURL, ts.URL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var j jobJSON
		ts.must(t, http.StatusOK, "GET", path, req{Bearer: bearer}).json(t, &j)
		if j.State == issuing.JobDone || j.State == issuing.JobFailed {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 30s: %+v", jobURL, j.State, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newSession starts a session for a user the way sign-in does, and keeps
// its CSRF secret so that the test can act as the page's script would.
func (ts *testServer) newSession(t testing.TB, userID string) *session {
	t.Helper()
	c, csrf, err := ts.Auth.NewSession(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return &session{Cookie: c, CSRF: csrf}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn goes through the password form as a browser does: GET /signin
// (login CSRF cookie and field), then POST it. It returns the session
// cookie; the CSRF secret of the session is not shown to browsers yet.
func (ts *testServer) signIn(t testing.TB, email, password string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(ts.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfFieldRE.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET /signin: %d, no csrf_token field", res.StatusCode)
	}
	res, err = c.PostForm(ts.URL+"/signin", url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /signin: %d, want 303", res.StatusCode)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "insigne_session" && ck.Value != "" {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie %v: want HttpOnly and SameSite=Lax", ck)
			}
			return &session{Cookie: ck.Value}
		}
	}
	t.Fatalf("POST /signin set no session cookie: %v", res.Header["Set-Cookie"])
	return nil
}

// forgedToken looks like an API token and is none.
func forgedToken() string {
	return auth.APITokenPrefix + strings.ToLower(rand.Text() + rand.Text())[:52]
}

// pngBytes is a 1x1 PNG followed by zeros up to n bytes: enough for the
// service, which types files by their first bytes.
func pngBytes(n int) []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
		"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	if n > len(b) {
		b = append(b, make([]byte, n-len(b))...)
	}
	return b
}
