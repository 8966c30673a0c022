package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// testClock is the OAuth server's clock, moved by the tests to expire
// codes and tokens.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// obServer is the service with the OAuth server of the OB API, and a
// protected resource server that trusts its tokens through
// AuthenticateOB, as the OB resource endpoints do.
type obServer struct {
	*testServer
	OAuth    *oauth.Service
	Clock    *testClock
	Resource string // URL of the protected resource
}

func newOBServer(t *testing.T, dsn string, more ...func(base string, c *api.Config)) *obServer {
	t.Helper()
	o := &obServer{Clock: &testClock{t: time.Now()}}
	o.testServer = newTestServer(t, dsn, func(base string, c *api.Config) {
		for _, m := range more {
			m(base, c)
		}
		// The store behind the test server is its Idempotency.
		db := c.Idempotency.(*store.DB)
		o.OAuth = oauth.New(oauth.Config{Store: db, Now: o.Clock.Now, AllowLoopbackHTTP: true})
		c.OAuth, c.OBTokens, c.BaseURL = o.OAuth, o.OAuth, base
		c.OAuthInfo = api.OAuthInfo{PrivacyPolicyURL: base + "/confidentialite", TermsOfServiceURL: base + "/conditions", ImageURL: base + "/logo.png"}
	})
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		user, scopes, err := o.OAuth.AuthenticateOB(r.Context(), tok)
		if !ok || err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !slices.Contains(scopes, oauth.ScopeCredentialRead) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"user": user, "scopes": scopes})
	}))
	t.Cleanup(rs.Close)
	o.Resource = rs.URL
	return o
}

// learner creates an account with a password and returns its id.
func (o *obServer) learner(t *testing.T, email, password string) string {
	t.Helper()
	h, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := o.DB.CreateUser(context.Background(), auth.User{Email: email, Name: "Nom de " + email, PasswordHash: h, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// wallet is an outside OB client talking to the service over HTTP.
type wallet struct {
	ID, Secret, Redirect string
	Registered           map[string]any
}

const walletRedirect = "http://127.0.0.1:9/callback"

var allOBScopes = oauth.ScopeCredentialRead + " " + oauth.ScopeCredentialUpsert + " " + oauth.ScopeProfileRead + " " + oauth.ScopeProfileUpdate + " offline_access"

func registration(scope string, grantTypes ...string) map[string]any {
	if len(grantTypes) == 0 {
		grantTypes = []string{"authorization_code", "refresh_token"}
	}
	return map[string]any{
		"client_name": "Portefeuille de test", "client_uri": "http://127.0.0.1:9/", "logo_uri": "http://127.0.0.1:9/logo.png",
		"tos_uri": "http://127.0.0.1:9/tos", "policy_uri": "http://127.0.0.1:9/privacy", "software_id": "c88b6ed8-269e-448e-99be-7e2ff47167d1",
		"software_version": "1.0", "redirect_uris": []string{walletRedirect}, "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": grantTypes, "response_types": []string{"code"}, "scope": scope, "contacts": []string{"dev@example.org"},
	}
}

func (o *obServer) register(t *testing.T, reg map[string]any) *wallet {
	t.Helper()
	res := o.must(t, http.StatusCreated, "POST", "/ims/ob/v3p0/register", req{JSON: reg})
	var out map[string]any
	res.json(t, &out)
	w := &wallet{Redirect: walletRedirect, Registered: out}
	w.ID, _ = out["client_id"].(string)
	w.Secret, _ = out["client_secret"].(string)
	if w.ID == "" || w.Secret == "" {
		t.Fatalf("registration answer %s", res)
	}
	return w
}

func newVerifier() string { return rand.Text() + rand.Text() } // 52 unreserved characters

// authorizeQuery is a well-formed authorization request of w.
func (w *wallet) authorizeQuery(scope, state, verifier string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {w.ID}, "redirect_uri": {w.Redirect}, "scope": {scope},
		"state": {state}, "code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// consentForm reads the fields of the consent page.
func consentForm(t *testing.T, page []byte) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenRE.FindAllSubmatch(page, -1) {
		f.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	if f.Get("csrf_token") == "" || f.Get("client_id") == "" {
		t.Fatalf("no consent form in the page:\n%s", page)
	}
	return f
}

// redirectParams checks that res sends the browser to the wallet and
// returns the query it carries.
func redirectParams(t *testing.T, res *resp) url.Values {
	t.Helper()
	if res.Status != http.StatusFound && res.Status != http.StatusSeeOther {
		t.Fatalf("want a redirect to the wallet, got %s", res)
	}
	loc := res.Header.Get("Location")
	if !strings.HasPrefix(loc, walletRedirect+"?") {
		t.Fatalf("redirected to %q, want %s?…", loc, walletRedirect)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

// consent shows the consent page to the signed-in session and answers
// it; it returns the answer (a redirect to the wallet).
func (o *obServer) consent(t *testing.T, sess *session, q url.Values, decision string) *resp {
	t.Helper()
	page := o.must(t, http.StatusOK, "GET", "/ims/ob/v3p0/authorize?"+q.Encode(), req{Session: &session{Cookie: sess.Cookie}})
	f := consentForm(t, page.Body)
	f.Set("decision", decision)
	return o.do(t, "POST", "/ims/ob/v3p0/authorize", req{Session: &session{Cookie: sess.Cookie}, ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Encode())})
}

// code runs the authorization of w by sess for scope and returns the
// code.
func (o *obServer) code(t *testing.T, sess *session, w *wallet, scope, verifier string) string {
	t.Helper()
	p := redirectParams(t, o.consent(t, sess, w.authorizeQuery(scope, "etat-1", verifier), "accept"))
	if p.Get("state") != "etat-1" || p.Get("code") == "" || p.Get("error") != "" {
		t.Fatalf("authorization answer %v", p)
	}
	return p.Get("code")
}

// tokenReq posts a form to the token endpoint (or path) as client id with
// secret.
func (o *obServer) tokenReq(t *testing.T, path, id, secret string, form url.Values) *resp {
	t.Helper()
	hr := req{ContentType: "application/x-www-form-urlencoded", Body: []byte(form.Encode()), Header: map[string]string{}}
	if id != "" {
		hr.Header["Authorization"] = "Basic " + basic(id, secret)
	}
	res := o.do(t, "POST", path, hr)
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST %s: Cache-Control %q, want no-store", path, cc)
	}
	return res
}

func basic(id, secret string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

type tokenJSON struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

func (o *obServer) exchange(t *testing.T, w *wallet, code, verifier string) tokenJSON {
	t.Helper()
	res := o.tokenReq(t, "/ims/ob/v3p0/token", w.ID, w.Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {w.Redirect}, "code_verifier": {verifier}})
	if res.Status != http.StatusOK {
		t.Fatalf("token: %s", res)
	}
	var tj tokenJSON
	res.json(t, &tj)
	return tj
}

// wantOAuthError checks an RFC 6749 error answer.
func wantOAuthError(t *testing.T, what string, res *resp, status int, code string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(res.Body, &e)
	if res.Status != status || e.Error != code || e.Description == "" {
		t.Errorf("%s: %s, want %d {\"error\":%q,…}", what, res, status, code)
	}
}

// resource calls the protected resource with an access token and returns
// the status and the user it answered for.
func (o *obServer) resource(t *testing.T, token string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest("GET", o.Resource, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ User string }
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.User
}

// TestOAuthWallet acts as an outside wallet, over HTTP: discovery,
// registration, authorization with PKCE by a learner who first has to
// sign in, consent, token, a protected call, refresh, and the rotated
// refresh token refused.
func TestOAuthWallet(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testOAuthWallet(t, newOBServer(t, b.DSN(t)))
		})
	}
}

func testOAuthWallet(t *testing.T, o *obServer) {
	anaID := o.learner(t, "ana@example.org", "mot de passe d'Ana")

	// Discovery: the service description document.
	var sdd map[string]any
	o.must(t, http.StatusOK, "GET", "/ims/ob/v3p0/discovery", req{}).json(t, &sdd)
	info, _ := sdd["info"].(map[string]any)
	if info["x-imssf-privacyPolicyUrl"] != o.URL+"/confidentialite" || info["termsOfService"] != o.URL+"/conditions" || info["x-imssf-image"] != o.URL+"/logo.png" || info["title"] == nil || info["version"] == nil {
		t.Errorf("SDD info %v", info)
	}
	if v, _ := sdd["openapi"].(string); !strings.HasPrefix(v, "3.0") {
		t.Errorf("SDD openapi %q, want 3.0.x", v)
	}
	scheme, _ := sdd["components"].(map[string]any)["securitySchemes"].(map[string]any)["OAuth2ACG"].(map[string]any)
	flow, _ := scheme["flows"].(map[string]any)["authorizationCode"].(map[string]any)
	if scheme["type"] != "oauth2" || scheme["x-imssf-registrationUrl"] != o.URL+"/ims/ob/v3p0/register" ||
		flow["authorizationUrl"] != o.URL+"/ims/ob/v3p0/authorize" || flow["tokenUrl"] != o.URL+"/ims/ob/v3p0/token" || flow["refreshUrl"] != o.URL+"/ims/ob/v3p0/token" {
		t.Errorf("SDD security scheme %v", scheme)
	}
	scopes, _ := flow["scopes"].(map[string]any)
	for _, sc := range []string{oauth.ScopeCredentialRead, oauth.ScopeCredentialUpsert, oauth.ScopeProfileRead, oauth.ScopeProfileUpdate} {
		if scopes[sc] == nil {
			t.Errorf("SDD lacks scope %s: %v", sc, scopes)
		}
	}

	// Registration, with the URLs the document gives.
	w := o.register(t, registration(allOBScopes))
	reg := w.Registered
	if reg["client_secret_expires_at"] != float64(0) || reg["client_id_issued_at"] == nil || reg["client_name"] != "Portefeuille de test" ||
		reg["token_endpoint_auth_method"] != "client_secret_basic" || reg["scope"] != allOBScopes || reg["software_id"] == nil {
		t.Errorf("registration answer %v", reg)
	}

	// A browser that is not signed in is sent to sign in, then back.
	verifier := newVerifier()
	q := w.authorizeQuery(oauth.ScopeCredentialRead+" "+oauth.ScopeProfileRead+" offline_access", "etat 42/+&=?~", verifier)
	authorizeURL := "/ims/ob/v3p0/authorize?" + q.Encode()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, []byte) {
		res, err := browser.Get(o.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, _ := get(authorizeURL)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/signin" {
		t.Fatalf("anonymous authorize: %d to %q, want 303 to /signin", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := get("/signin")
	m := csrfFieldRE.FindSubmatch(page)
	if m == nil {
		t.Fatal("no sign-in form")
	}
	res, err := browser.PostForm(o.URL+"/signin", url.Values{"email": {"ana@example.org"}, "password": {"mot de passe d'Ana"}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != authorizeURL {
		t.Fatalf("after sign-in: %d to %q, want 303 back to %s", res.StatusCode, res.Header.Get("Location"), authorizeURL)
	}
	res, page = get(authorizeURL)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `lang="fr"`) || !strings.Contains(string(page), "Portefeuille de test") ||
		!strings.Contains(string(page), "lire vos badges") || !strings.Contains(string(page), "lire votre profil") || strings.Contains(string(page), "modifier votre profil") ||
		!strings.Contains(string(page), "jusqu'à ce que vous le retiriez") {
		t.Fatalf("consent page: %d\n%s", res.StatusCode, page)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("consent page CSP %q: it must not be framed", csp)
	}
	f := consentForm(t, page)
	f.Set("decision", "accept")
	res, err = browser.PostForm(o.URL+"/ims/ob/v3p0/authorize", f)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back := redirectParams(t, &resp{Status: res.StatusCode, Header: res.Header})
	if back.Get("state") != "etat 42/+&=?~" || back.Get("code") == "" {
		t.Fatalf("authorization answer %v", back)
	}

	// Token.
	tj := o.exchange(t, w, back.Get("code"), verifier)
	if tj.TokenType != "Bearer" || tj.ExpiresIn != 3600 || tj.AccessToken == "" || tj.RefreshToken == "" ||
		tj.Scope != oauth.ScopeCredentialRead+" "+oauth.ScopeProfileRead+" offline_access" {
		t.Errorf("token answer %+v", tj)
	}
	if st, user := o.resource(t, tj.AccessToken); st != http.StatusOK || user != anaID {
		t.Fatalf("protected resource with the access token: %d for %q, want 200 for ana (%s)", st, user, anaID)
	}

	// Refresh: a new pair; the new access token works.
	res2 := o.tokenReq(t, "/ims/ob/v3p0/token", w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
	var tj2 tokenJSON
	res2.json(t, &tj2)
	if res2.Status != http.StatusOK || tj2.AccessToken == "" || tj2.RefreshToken == "" || tj2.RefreshToken == tj.RefreshToken || tj2.AccessToken == tj.AccessToken {
		t.Fatalf("refresh: %s", res2)
	}
	if st, user := o.resource(t, tj2.AccessToken); st != http.StatusOK || user != anaID {
		t.Fatalf("protected resource with the refreshed token: %d for %q", st, user)
	}

	// The learner sees the application among those they authorized.
	sess := o.newSession(t, anaID)
	var grants struct {
		Grants []struct {
			ID     string
			Client struct{ Name string }
			Scopes []string
		}
	}
	o.must(t, http.StatusOK, "GET", "/api/v1/me/oauth-grants", req{Session: sess}).json(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].Client.Name != "Portefeuille de test" || len(grants.Grants[0].Scopes) != 3 {
		t.Errorf("ana's authorizations %+v", grants)
	}

	// The old refresh token is refused, and its reuse revokes the grant:
	// the new tokens stop working too.
	res3 := o.tokenReq(t, "/ims/ob/v3p0/token", w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj.RefreshToken}})
	wantOAuthError(t, "old refresh token", res3, http.StatusBadRequest, "invalid_grant")
	if st, _ := o.resource(t, tj2.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("after the reuse of a refresh token, the grant's access token answers %d, want 401", st)
	}
	res4 := o.tokenReq(t, "/ims/ob/v3p0/token", w.ID, w.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tj2.RefreshToken}})
	wantOAuthError(t, "refresh token of a revoked grant", res4, http.StatusBadRequest, "invalid_grant")
	o.must(t, http.StatusOK, "GET", "/api/v1/me/oauth-grants", req{Session: sess}).json(t, &grants)
	if len(grants.Grants) != 0 {
		t.Errorf("revoked authorization still listed: %+v", grants)
	}
}
